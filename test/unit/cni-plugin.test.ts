import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from '@jest/globals'
import type {DelegateOutcome} from '../../src/cni/delegate-exec.js'
import {runPlugin} from '../../src/cni/plugin.js'
import {silentLogger} from '../../src/lib/log.js'

/** The plugin with a recording fake in place of the bridge binary (which is only looked up, never run). */
describe('the CNI plugin', () => {
  let dir: string
  let calls: {plugin: string; config: Record<string, unknown>; env: Record<string, string>}[]
  let answer: DelegateOutcome
  const subnetFile = () => join(dir, 'subnet.env')
  const dataDir = () => join(dir, 'data')
  const conf = (extra: Record<string, unknown> = {}): string => JSON.stringify({cniVersion: '1.0.0', name: 'cnet', type: 'cnet', subnetFile: subnetFile(), dataDir: dataDir(), ...extra})
  const cniEnv = (command: string, extra: Record<string, string | undefined> = {}) => ({
    CNI_COMMAND: command, CNI_CONTAINERID: 'pod1', CNI_NETNS: '/var/run/netns/pod1', CNI_IFNAME: 'eth0', CNI_PATH: `/nonexistent:${join(dir, 'bin')}`, ...extra,
  })
  const run = (command: string, stdin = conf(), extra: Record<string, string | undefined> = {}) =>
    runPlugin(cniEnv(command, extra), stdin, {
      log: silentLogger,
      runDelegate: async (plugin, config, env) => {
        calls.push({plugin, config: JSON.parse(config), env})
        return answer
      },
    })
  const saved = () => join(dataDir(), 'pod1')
  const result = {cniVersion: '1.0.0', interfaces: [{name: 'cnet0'}], ips: [{address: '10.5.52.2/24', gateway: '10.5.52.1'}]}
  const codeOf = (stdout: string) => JSON.parse(stdout).code as number

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cni-unit-'))
    writeFileSync(subnetFile(), 'FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.52.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n')
    const bin = join(dir, 'bin')
    for (const plugin of ['bridge']) {
      mkdirSync(bin, {recursive: true})
      writeFileSync(join(bin, plugin), '#!/bin/sh\n')
      chmodSync(join(bin, plugin), 0o755)
    }
    calls = []
    answer = {stdout: JSON.stringify(result, null, 2), stderr: '', exitCode: 0}
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('ADD saves the delegate config, runs the bridge from CNI_PATH with the same env, passes its result through', async () => {
    const out = await run('ADD')
    expect(out).toEqual({stdout: JSON.stringify(result) + '\n', exitCode: 0})
    expect(calls).toHaveLength(1)
    expect(calls[0].plugin).toBe(join(dir, 'bin', 'bridge'))
    expect(calls[0].env).toMatchObject({CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'pod1', CNI_IFNAME: 'eth0'})
    expect(calls[0].config).toMatchObject({type: 'bridge', name: 'cnet', ipam: {ranges: [[{subnet: '10.5.52.0/24'}]]}})
    expect(JSON.parse(readFileSync(saved(), 'utf8'))).toEqual(calls[0].config)
  })

  it('DEL replays the saved config after subnet.env vanished, then forgets it; a second DEL does nothing and succeeds', async () => {
    await run('ADD')
    rmSync(subnetFile())
    answer = {stdout: '', stderr: '', exitCode: 0}
    const prevResult = result
    expect(await run('DEL', conf({prevResult}), {CNI_NETNS: ''})).toEqual({stdout: '', exitCode: 0})
    expect(calls[1].config).toEqual({...calls[0].config, prevResult})
    expect(existsSync(saved())).toBe(false)
    expect(await run('DEL')).toEqual({stdout: '', exitCode: 0})
    expect(calls).toHaveLength(2)
  })

  it('DEL removes leftover masquerade rules after the bridge succeeded, not after it failed', async () => {
    const cleaned: string[] = []
    const del = (exitCode: number) =>
      runPlugin(cniEnv('DEL'), conf(), {log: silentLogger, runDelegate: async () => ({stdout: exitCode ? '{"code":11,"msg":"busy"}' : '', stderr: '', exitCode}), cleanupMasq: async (network, id) => void cleaned.push(`${network}/${id}`)})
    await run('ADD')
    expect((await del(1)).exitCode).toBe(1)
    expect(cleaned).toEqual([])
    expect((await del(0)).exitCode).toBe(0)
    expect(cleaned).toEqual(['cnet/pod1'])
  })

  it('DEL leaves the masquerade rules to the bridge while the namespace exists (it removes them itself)', async () => {
    const cleaned: string[] = []
    const netns = join(dir, 'netns-pod1')
    writeFileSync(netns, '')
    await run('ADD')
    const out = await runPlugin(cniEnv('DEL', {CNI_NETNS: netns}), conf(), {log: silentLogger, runDelegate: async () => ({stdout: '', stderr: '', exitCode: 0}), cleanupMasq: async (network, id) => void cleaned.push(`${network}/${id}`)})
    expect(out).toEqual({stdout: '', exitCode: 0})
    expect(cleaned).toEqual([])
    expect(existsSync(saved())).toBe(false)
  })

  it('DEL keeps the saved config when the delegate fails, and passes its error document through', async () => {
    await run('ADD')
    answer = {stdout: '{"cniVersion":"1.0.0","code":11,"msg":"busy"}', stderr: '', exitCode: 1}
    const out = await run('DEL')
    expect(out.exitCode).toBe(1)
    expect(JSON.parse(out.stdout)).toEqual({cniVersion: '1.0.0', code: 11, msg: 'busy'})
    expect(existsSync(saved())).toBe(true)
  })

  it('CHECK replays the saved config with prevResult', async () => {
    await run('ADD')
    answer = {stdout: '', stderr: '', exitCode: 0}
    expect((await run('CHECK', conf({prevResult: result}))).exitCode).toBe(0)
    expect(calls[1].config.prevResult).toEqual(result)
  })

  it.each([
    ['CHECK of an unknown container', 'CHECK', () => conf({prevResult: result}), {}, 3],
    ['CHECK without prevResult', 'CHECK', () => conf(), {}, 7],
    ['CHECK in a 0.3.1 config', 'CHECK', () => conf({cniVersion: '0.3.1', prevResult: result}), {}, 1],
    ['ADD without CNI_PATH', 'ADD', () => conf(), {CNI_PATH: undefined}, 4],
    ['ADD with no bridge in CNI_PATH', 'ADD', () => conf(), {CNI_PATH: '/nonexistent'}, 101],
    ['ADD with subnet.env missing', 'ADD', () => conf({subnetFile: '/nonexistent/subnet.env'}), {}, 100],
    ['ADD with a bad config', 'ADD', () => '{"cniVersion":"1.0.0"}', {}, 7],
    ['ADD of an undecodable config', 'ADD', () => '{', {}, 6],
  ] as [string, string, () => string, Record<string, string | undefined>, number][])('%s fails with the right code', async (_label, command, stdin, extra, code) => {
    const out = await run(command, stdin(), extra)
    expect(out.exitCode).toBe(1)
    expect(codeOf(out.stdout)).toBe(code)
    expect(JSON.parse(out.stdout)).toMatchObject({cniVersion: expect.any(String), msg: expect.stringMatching(/\(.+\)$|never added|CHECK/)})
    expect(calls).toHaveLength(0)
    expect(existsSync(saved())).toBe(false)
  })

  it('an invalid subnet.env is code 100 and says what to do', async () => {
    writeFileSync(subnetFile(), 'FLANNEL_NETWORK=10.5.0.0/16\n')
    const out = JSON.parse((await run('ADD')).stdout)
    expect(out).toMatchObject({code: 100, msg: expect.stringContaining('run cnet subnet lease again')})
  })

  it('a delegate that fails without an error document is code 102 with its stderr', async () => {
    answer = {stdout: '', stderr: 'panic: boom\n', exitCode: 2}
    const out = await run('ADD')
    expect(out.exitCode).toBe(1)
    expect(JSON.parse(out.stdout)).toMatchObject({code: 102, details: 'panic: boom'})
  })

  it.each([
    ['ADD when dataDir cannot be written', 'ADD', () => writeFileSync(dataDir(), 'a file, not a directory'), 5],
    ['DEL when the saved config cannot be read', 'DEL', () => mkdirSync(saved(), {recursive: true}), 5],
    ['DEL when the saved config is not JSON', 'DEL', () => (mkdirSync(dataDir(), {recursive: true}), writeFileSync(saved(), '{half')), 6],
    ['CHECK when the saved config is not an object', 'CHECK', () => (mkdirSync(dataDir(), {recursive: true}), writeFileSync(saved(), '[1]')), 6],
  ] as [string, string, () => void, number][])('%s is code %d, and the delegate is not run', async (_label, command, breakIt, code) => {
    breakIt()
    const out = await run(command, conf({prevResult: result}))
    expect(out.exitCode).toBe(1)
    expect(codeOf(out.stdout)).toBe(code)
    expect(calls).toHaveLength(0)
  })

  it('VERSION needs no config', async () => {
    const out = await runPlugin({CNI_COMMAND: 'VERSION'}, '', {log: silentLogger, runDelegate: async () => answer})
    expect(JSON.parse(out.stdout)).toEqual({cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0']})
  })
})
