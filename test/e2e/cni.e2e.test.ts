import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {cidrContainsIp, formatCidr, parseIp} from '../../src/net/ip.js'
import {parseSubnetEnv} from '../../src/net/subnet-env.js'
import {type CliResult, cliEnv, runCli} from '../helpers/cli.js'
import {type EtcdMember, startEtcd} from '../helpers/etcd.js'
import {addNamespace, cleanup, createUnderlay, inNs, ip, tearDown, type Underlay} from '../helpers/netns.js'
import {uniquePrefixes} from '../helpers/shared-etcd.js'

/**
 * The CNI plugin as a runtime drives it: two hosts in namespaces with real leases and a
 * real VXLAN overlay, pods in namespaces of their own attached through `cnet cni` and
 * the reference bridge and host-local plugins, traffic between pods on different hosts.
 */
const PREFIX = 'cnc-'
const NETWORK = 'cnc-net'
const CNI_PATH = '/usr/lib/cni'

interface AddResult {
  cniVersion: string
  interfaces: {name: string; mac?: string; sandbox?: string}[]
  ips: {address: string; gateway: string; interface: number}[]
  routes?: {dst: string; gw?: string}[]
}

/** Runs a program with stdin and env, as a runtime execs a plugin. */
function exec(argv: string[], env: Record<string, string>, input: string): Promise<CliResult> {
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {env: {...process.env, ...env}, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({stdout, stderr, exitCode: code ?? 1, durationMs: Date.now() - started}))
    child.stdin.end(input)
  })
}

describe('cnet cni on two hosts with the reference plugins', () => {
  let underlay: Underlay
  let etcd: EtcdMember
  let dir: string
  let env: Record<string, string>
  const prefixes = uniquePrefixes('cni')
  const node = (i: number) => underlay.hosts[i - 1].ns
  const subnetFile = (i: number) => join(dir, `node${i}`, 'subnet.env')
  const dataDir = (i: number) => join(dir, `node${i}`, 'cni')
  const conf = (i: number, extra: Record<string, unknown> = {}) => JSON.stringify({cniVersion: '1.0.0', name: NETWORK, type: 'cnet', subnetFile: subnetFile(i), dataDir: dataDir(i), ...extra})
  const cniEnv = (command: string, pod: string, extra: Record<string, string> = {}) => ({
    CNI_COMMAND: command, CNI_CONTAINERID: `id-${pod}`, CNI_NETNS: `/var/run/netns/${pod}`, CNI_IFNAME: 'eth0', CNI_PATH, ...extra,
  })
  const cni = (i: number, command: string, pod: string, input = conf(i), extra: Record<string, string> = {}) =>
    runCli(['cni'], {env: cniEnv(command, pod, extra), netns: node(i), input})
  const nodeSubnet = (i: number) => {
    const parsed = parseSubnetEnv(readFileSync(subnetFile(i), 'utf8'))
    if (!parsed.ok || !parsed.env.subnet) throw new Error(`node ${i}: ${subnetFile(i)} has no subnet`)
    return parsed.env.subnet
  }
  const allocated = (i: number, address: string) => existsSync(join(dataDir(i), '_ipam', NETWORK, address))
  const results = new Map<string, AddResult>()

  /** ADD a new pod namespace on a node; checks the result and returns the pod's address. */
  async function addPod(i: number, pod: string): Promise<string> {
    await addNamespace(pod)
    const r = await cni(i, 'ADD', pod)
    expect(r.stderr).toBe('')
    expect(r.exitCode).toBe(0)
    const result = JSON.parse(r.stdout) as AddResult
    results.set(pod, result)
    expect(result.cniVersion).toBe('1.0.0')
    expect(result.ips).toHaveLength(1)
    const [address, length] = result.ips[0].address.split('/')
    const subnet = nodeSubnet(i)
    expect(cidrContainsIp(subnet, parseIp(address)!)).toBe(true)
    expect(Number(length)).toBe(subnet.prefix)
    expect(result.ips[0].gateway).toBe(formatCidr(subnet).replace(/0\/\d+$/, '1'))
    expect(result.interfaces.map((n) => n.name)).toEqual(expect.arrayContaining(['cnet0', 'eth0']))
    expect(result.interfaces.find((n) => n.name === 'eth0')?.sandbox).toBe(`/var/run/netns/${pod}`)
    expect(result.routes).toEqual(expect.arrayContaining([{dst: '10.62.0.0/16', gw: result.ips[0].gateway}]))
    expect(existsSync(join(dataDir(i), `id-${pod}`))).toBe(true)
    return address
  }

  beforeAll(async () => {
    await cleanup(PREFIX)
    dir = mkdtempSync(join(tmpdir(), 'cnc-'))
    underlay = await createUnderlay(PREFIX, 2, '10.95.0')
    etcd = await startEtcd({name: 'cni', host: underlay.rootAddress})
    env = cliEnv(etcd.endpoint, prefixes)
    expect((await runCli(['network', 'init', '--network', '10.62.0.0/16'], {env})).exitCode).toBe(0)
    for (const i of [1, 2]) {
      const lease = await runCli(['subnet', 'lease', '--public-ip', underlay.hosts[i - 1].address, '--subnet-file', subnetFile(i), '--json'], {env, netns: node(i)})
      expect(lease.stderr).toBe('')
      expect(lease.exitCode).toBe(0)
    }
    // Each host programs the others' subnets, so every lease must exist first.
    for (const i of [1, 2]) {
      const up = await runCli(['vxlan', 'up', '--subnet-file', subnetFile(i), '--json'], {env, netns: node(i)})
      expect(up.exitCode).toBe(0)
      expect(JSON.parse(up.stdout).peers).toBe(1)
    }
  }, 90_000)

  afterAll(async () => {
    expect(await tearDown(PREFIX, {etcd, dir})).toEqual({namespaces: [], links: []})
  }, 30_000)

  it('ADD attaches a pod on each host with an address from that host’s subnet; CHECK passes', async () => {
    await addPod(1, 'cnc-p1')
    await addPod(2, 'cnc-p2')
    const eth0 = JSON.parse(await ip('-n', 'cnc-p2', '-j', 'addr', 'show', 'dev', 'eth0'))[0]
    expect(eth0.mtu).toBe(1450)
    expect(eth0.addr_info.map((a: {local: string}) => a.local)).toContain(results.get('cnc-p2')!.ips[0].address.split('/')[0])
    for (const [i, pod] of [[1, 'cnc-p1'], [2, 'cnc-p2']] as const) {
      const check = await cni(i, 'CHECK', pod, conf(i, {prevResult: results.get(pod)}))
      expect(check.stdout).toBe('')
      expect(check.exitCode).toBe(0)
    }
  }, 60_000)

  it('a pod on host 2 reaches a pod on host 1 across the overlay, and back', async () => {
    const address = (pod: string) => results.get(pod)!.ips[0].address.split('/')[0]
    expect(await inNs('cnc-p2', 'ping', ['-c', '2', '-W', '2', address('cnc-p1')])).toMatch(/2 received/)
    expect(await inNs('cnc-p1', 'ping', ['-c', '2', '-W', '2', address('cnc-p2')])).toMatch(/2 received/)
  }, 30_000)

  it('cni install writes a conflist and a plugin shim a runtime can exec as `cnet`', async () => {
    const install = ['cni', 'install', '--conf-dir', join(dir, 'net.d'), '--bin-dir', join(dir, 'bin'), '--subnet-file', subnetFile(1), '--data-dir', dataDir(1), '--name', NETWORK, '--json']
    const first = await runCli(install)
    expect(first.exitCode).toBe(0)
    expect(JSON.parse(first.stdout).written).toHaveLength(2)
    const again = await runCli(install)
    expect(JSON.parse(again.stdout)).toMatchObject({written: [], confFile: join(dir, 'net.d', `10-${NETWORK}.conflist`)})
    const bad = await runCli(['cni', 'install', '--conf-dir', 'relative', '--bin-dir', join(dir, 'bin2')])
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
    expect(existsSync(join(dir, 'bin2'))).toBe(false)

    // As a runtime does: the conflist's network name and version around its first plugin.
    const conflist = JSON.parse(readFileSync(join(dir, 'net.d', `10-${NETWORK}.conflist`), 'utf8'))
    const pluginConf = JSON.stringify({cniVersion: conflist.cniVersion, name: conflist.name, ...conflist.plugins[0]})
    await addNamespace('cnc-p3')
    const added = await exec(['ip', 'netns', 'exec', node(1), join(dir, 'bin', 'cnet')], cniEnv('ADD', 'cnc-p3'), pluginConf)
    expect(added.exitCode).toBe(0)
    const address = (JSON.parse(added.stdout) as AddResult).ips[0].address.split('/')[0]
    expect(cidrContainsIp(nodeSubnet(1), parseIp(address)!)).toBe(true)
    expect(address).not.toBe(results.get('cnc-p1')!.ips[0].address.split('/')[0])
    const removed = await exec(['ip', 'netns', 'exec', node(1), join(dir, 'bin', 'cnet')], cniEnv('DEL', 'cnc-p3'), pluginConf)
    expect(removed).toMatchObject({exitCode: 0, stdout: ''})
    expect(allocated(1, address)).toBe(false)
  }, 60_000)

  it('DEL releases the address and removes the interface; a second DEL succeeds too', async () => {
    const address = results.get('cnc-p2')!.ips[0].address.split('/')[0]
    expect(allocated(2, address)).toBe(true)
    for (let n = 0; n < 2; n++) {
      const r = await cni(2, 'DEL', 'cnc-p2', conf(2, {prevResult: results.get('cnc-p2')}))
      expect(r).toMatchObject({exitCode: 0, stdout: '', stderr: ''})
    }
    expect(allocated(2, address)).toBe(false)
    expect(existsSync(join(dataDir(2), 'id-cnc-p2'))).toBe(false)
    expect(await inNs(node(2), 'iptables-save', ['-t', 'nat'])).not.toContain('id-cnc-p2')
    expect(await ip('-n', 'cnc-p2', 'link', 'show')).not.toContain('eth0')
    const check = await cni(2, 'CHECK', 'cnc-p2', conf(2, {prevResult: results.get('cnc-p2')}))
    expect(check.exitCode).not.toBe(0)
    expect(JSON.parse(check.stdout).code).toBe(3)
  }, 30_000)

  it('DEL succeeds after the pod namespace is gone, and after subnet.env vanished', async () => {
    const address = results.get('cnc-p1')!.ips[0].address.split('/')[0]
    expect(await inNs(node(1), 'iptables-save', ['-t', 'nat'])).toContain('id: \\"id-cnc-p1\\"')
    await ip('netns', 'del', 'cnc-p1')
    const gone = await cni(1, 'DEL', 'cnc-p1')
    expect(gone).toMatchObject({exitCode: 0, stdout: ''})
    expect(allocated(1, address)).toBe(false)
    // The bridge leaves its masquerade rules behind without the namespace; cnet removes them.
    const nat = await inNs(node(1), 'iptables-save', ['-t', 'nat'])
    expect(nat).not.toContain('id-cnc-p1')

    const p4 = await addPod(2, 'cnc-p4')
    renameSync(subnetFile(2), `${subnetFile(2)}.away`)
    try {
      const r = await cni(2, 'DEL', 'cnc-p4')
      expect(r).toMatchObject({exitCode: 0, stdout: ''})
      expect(allocated(2, p4)).toBe(false)
      // With no subnet.env, a new ADD cannot know the subnet: code 100, nothing attached.
      const add = await cni(2, 'ADD', 'cnc-p4')
      expect(add.exitCode).toBe(1)
      expect(JSON.parse(add.stdout)).toMatchObject({cniVersion: '1.0.0', code: 100, msg: expect.stringContaining('cnet subnet lease')})
    } finally {
      renameSync(`${subnetFile(2)}.away`, subnetFile(2))
    }
  }, 60_000)

  it('dual stack: a subnet.env with IPv6 lines gives the pod an address of each family and routes to both networks', async () => {
    const dual = join(dir, 'dual')
    mkdirSync(dual, {recursive: true})
    writeFileSync(join(dual, 'subnet.env'), 'FLANNEL_NETWORK=10.63.0.0/16\nFLANNEL_SUBNET=10.63.7.1/24\nFLANNEL_IPV6_NETWORK=fd63:cafe::/48\nFLANNEL_IPV6_SUBNET=fd63:cafe:0:7::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n')
    const dualConf = JSON.stringify({cniVersion: '1.0.0', name: 'cnc-dual', type: 'cnet', subnetFile: join(dual, 'subnet.env'), dataDir: join(dual, 'cni'), bridge: 'cnc6'})
    await addNamespace('cnc-p6')
    const added = await cni(1, 'ADD', 'cnc-p6', dualConf)
    expect([added.exitCode, added.stderr]).toEqual([0, ''])
    const result = JSON.parse(added.stdout) as AddResult
    expect(result.ips.map((i) => [i.address.replace(/(\.|:)[0-9a-f]+\//, '$1X/'), i.gateway])).toEqual([
      ['10.63.7.X/24', '10.63.7.1'],
      ['fd63:cafe:0:7::X/64', 'fd63:cafe:0:7::1'],
    ])
    expect(result.routes).toEqual(expect.arrayContaining([{dst: '10.63.0.0/16', gw: '10.63.7.1'}, {dst: 'fd63:cafe::/48', gw: 'fd63:cafe:0:7::1'}]))
    // In the pod: both addresses on eth0, and a route to each network through the bridge.
    const eth0 = JSON.parse(await ip('-n', 'cnc-p6', '-j', 'addr', 'show', 'dev', 'eth0'))[0]
    const global = eth0.addr_info.filter((a: {scope: string}) => a.scope === 'global').map((a: {local: string; prefixlen: number}) => `${a.local}/${a.prefixlen}`)
    expect(global.sort()).toEqual(result.ips.map((i) => i.address).sort())
    expect(await ip('-n', 'cnc-p6', '-6', 'route', 'show', 'fd63:cafe::/48')).toContain('via fd63:cafe:0:7::1 dev eth0')
    expect(await ip('-n', 'cnc-p6', 'route', 'show', '10.63.0.0/16')).toContain('via 10.63.7.1 dev eth0')
    const removed = await cni(1, 'DEL', 'cnc-p6', dualConf)
    expect(removed).toMatchObject({exitCode: 0, stdout: ''})
    for (const i of result.ips) expect(existsSync(join(dual, 'cni', '_ipam', 'cnc-dual', i.address.split('/')[0]))).toBe(false)
  }, 60_000)

  it('cnet cni --help lists only the flags the plugin uses', async () => {
    const help = await runCli(['cni', '--help'])
    expect(help.exitCode).toBe(0)
    expect(help.stdout).toContain('--log-level')
    expect(help.stdout).not.toMatch(/--etcd|--cnet-prefix/)
  })

  it('bad input is the spec’s error document on stdout with the right code, and attaches nothing', async () => {
    await addNamespace('cnc-p5')
    const cases: [string, Promise<CliResult>, number][] = [
      ['undecodable config', cni(1, 'ADD', 'cnc-p5', '{"cniVersion":'), 6],
      ['config without a name', cni(1, 'ADD', 'cnc-p5', JSON.stringify({cniVersion: '1.0.0', type: 'cnet'})), 7],
      ['unsupported version', cni(1, 'ADD', 'cnc-p5', conf(1, {cniVersion: '0.2.0'})), 1],
      ['missing subnet.env', cni(1, 'ADD', 'cnc-p5', conf(1, {subnetFile: join(dir, 'none', 'subnet.env')})), 100],
      ['no bridge plugin in CNI_PATH', cni(1, 'ADD', 'cnc-p5', conf(1), {CNI_PATH: join(dir, 'bin')}), 101],
      ['no CNI_IFNAME', cni(1, 'ADD', 'cnc-p5', conf(1), {CNI_IFNAME: ''}), 4],
    ]
    for (const [label, pending, code] of cases) {
      const r = await pending
      expect([label, r.exitCode, r.stderr]).toEqual([label, 1, ''])
      const document = JSON.parse(r.stdout)
      expect([label, document.code]).toEqual([label, code])
      expect(document).toEqual({cniVersion: expect.any(String), code, msg: expect.any(String), details: expect.any(String)})
    }
    expect(existsSync(join(dataDir(1), 'id-cnc-p5'))).toBe(false)
    expect(await ip('-n', 'cnc-p5', 'link', 'show')).not.toContain('eth0')
    const version = await runCli(['cni'], {env: {CNI_COMMAND: 'VERSION'}, input: '{"cniVersion":"1.0.0"}'})
    expect(JSON.parse(version.stdout)).toEqual({cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0']})
  }, 60_000)
})
