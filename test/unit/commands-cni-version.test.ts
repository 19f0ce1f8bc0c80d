import {existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from '@jest/globals'
import {runCommandInProcess as cnet} from '../helpers/run-command-in-process.js'

// Commands that never open the store (the helper fails a run that does without one).

const dir = mkdtempSync(join(tmpdir(), 'cnet-commands-cni-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('version', () => {
  it('prints the version, node and platform, as a line and as JSON', async () => {
    const human = await cnet(['version'])
    expect(human).toEqual({stdout: `cnet 0.1.0 (node ${process.versions.node}, ${process.platform}-${process.arch})\n`, stderr: '', exitCode: 0})
    expect(JSON.parse((await cnet(['version', '--json'])).stdout)).toEqual({version: '0.1.0', node: process.versions.node, platform: process.platform, arch: process.arch})
  })

  it('a log level that does not exist is a usage error naming the flag and its values', async () => {
    const result = await cnet(['version', '--log-level', 'loud'])
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toMatch(/^cnet: Expected --log-level=loud to be one of: .*\(see cnet version --help\)\n$/)
  })

  it('a failure is logged as one JSON line with --log-format json', async () => {
    const result = await cnet(['version', '--bogus', '--log-format', 'json'])
    expect(result.exitCode).toBe(2)
    expect(JSON.parse(result.stderr)).toMatchObject({level: 'error', msg: 'Nonexistent flag: --bogus (see cnet version --help)', code: 'UsageError', exitCode: 2})
  })

  it('a programming error exits 70, with its stack only at --log-level debug', async () => {
    const plain = await cnet(['version'], {env: {CNET_TEST_INTERNAL_ERROR: '1'}})
    expect(plain).toEqual({stdout: '', stderr: 'cnet: internal error: injected by CNET_TEST_INTERNAL_ERROR (run with --log-level debug for the stack)\n', exitCode: 70})
    const debug = await cnet(['version', '--log-level', 'debug'], {env: {CNET_TEST_INTERNAL_ERROR: '1'}})
    expect(debug.exitCode).toBe(70)
    expect(debug.stderr).toMatch(/^cnet: internal error: .*\nTypeError: injected by CNET_TEST_INTERNAL_ERROR\n\s+at /)
  })
})

describe('cni install', () => {
  const install = (name: string, ...more: string[]) => {
    const root = join(dir, name)
    return {root, run: () => cnet(['cni', 'install', '--conf-dir', join(root, 'net.d'), '--bin-dir', join(root, 'bin'), '--subnet-file', join(root, 'subnet.env'), '--data-dir', join(root, 'data'), ...more])}
  }

  it('writes the conflist and the plugin shim, then nothing the second time', async () => {
    const {root, run} = install('fresh')
    const first = await run()
    expect(first.exitCode).toBe(0)
    expect(first.stdout).toBe(`wrote ${join(root, 'bin/cnet')}\nwrote ${join(root, 'net.d/10-cnet.conflist')}\n`)
    const conflist = JSON.parse(readFileSync(join(root, 'net.d/10-cnet.conflist'), 'utf8'))
    expect(conflist).toMatchObject({name: 'cnet', plugins: [{type: 'cnet', subnetFile: join(root, 'subnet.env'), dataDir: join(root, 'data')}, {type: 'portmap'}]})
    expect(statSync(join(root, 'bin/cnet')).mode & 0o111).not.toBe(0)
    const second = await run()
    expect(second.stdout).toBe(`${join(root, 'net.d/10-cnet.conflist')} and ${join(root, 'bin/cnet')} already in place\n`)
  })

  it('--json gives the files written and the reference plugins it could not find', async () => {
    const {root, run} = install('json', '--name', 'pods', '--bridge', 'cni-pods', '--no-default-gateway', '--json')
    const result = await run()
    expect(result.exitCode).toBe(0)
    const parsed = JSON.parse(result.stdout)
    expect(parsed).toMatchObject({confFile: join(root, 'net.d/10-pods.conflist'), pluginFile: join(root, 'bin/cnet'), written: [join(root, 'bin/cnet'), join(root, 'net.d/10-pods.conflist')]})
    expect(parsed.searchedDirs).toContain(join(root, 'bin'))
    // Whatever reference plugins this machine lacks are named on stderr, once.
    if (parsed.missingPlugins.length > 0) expect(result.stderr).toMatch(new RegExp(`${parsed.missingPlugins.join(', ')} in none of `))
    else expect(result.stderr).toBe('')
    expect(JSON.parse(readFileSync(join(root, 'net.d/10-pods.conflist'), 'utf8')).plugins[0]).toMatchObject({bridge: 'cni-pods', delegate: {isDefaultGateway: false}})
  })

  it('refuses to replace a cnet binary it did not write, unless --force', async () => {
    const {root, run} = install('foreign')
    const first = await run()
    expect(first.exitCode).toBe(0)
    writeFileSync(join(root, 'bin/cnet'), '#!/bin/sh\necho someone else\n')
    const refused = await run()
    expect(refused.exitCode).toBe(5)
    expect(refused.stderr).toMatch(/^cnet: cni install: .*bin\/cnet exists and was not written by cnet cni install \(remove it, or replace it only by force; check --force\)\n$/)
    expect(readFileSync(join(root, 'bin/cnet'), 'utf8')).toContain('someone else')
    const forced = await install('foreign', '--force').run()
    expect(forced.exitCode).toBe(0)
    expect(readFileSync(join(root, 'bin/cnet'), 'utf8')).not.toContain('someone else')
  })

  it.each([
    [['--name', ''], /--name/],
    [['--bridge', 'this-name-is-far-too-long-for-linux'], /--bridge/],
    [['--conf-dir', 'relative/dir'], /--conf-dir/],
    [['--etcd-endpoints', 'http://x:1'], /Nonexistent flag: --etcd-endpoints/],
  ])('%j is a usage error and writes nothing', async (flags, message) => {
    const {root, run} = install(`bad-${flags[0]!.slice(2)}`, ...flags)
    const result = await run()
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toMatch(message)
    expect(existsSync(root)).toBe(false)
  })
})

describe('cni', () => {
  it('without CNI_COMMAND it is a usage error pointing to cni install', async () => {
    const result = await cnet(['cni'], {env: {CNI_COMMAND: undefined}})
    expect(result).toEqual({stdout: '', stderr: 'cnet: cni: CNI_COMMAND is not set (this is the CNI plugin that container runtimes run; see cnet cni install)\n', exitCode: 2})
  })

  it('with CNI_COMMAND set, a bad flag is told as the spec\'s error document on stdout', async () => {
    const result = await cnet(['cni', '--log-level', 'loud'], {env: {CNI_COMMAND: 'ADD'}})
    expect(result.exitCode).toBe(1)
    expect(JSON.parse(result.stdout)).toMatchObject({cniVersion: expect.any(String), code: 4, msg: expect.stringMatching(/--log-level/)})
  })
})
