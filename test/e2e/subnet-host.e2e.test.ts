import {mkdtempSync, readFileSync, readdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {openStore} from '../../src/store/index.js'
import type {Store} from '../../src/store/store.js'
import {cliEnv, runCli} from '../helpers/cli.js'
import {type EtcdMember, startEtcd} from '../helpers/etcd.js'
import {cleanup, createUnderlay, ip, tearDown, type Underlay} from '../helpers/netns.js'
import {uniquePrefixes} from '../helpers/shared-etcd.js'

const PREFIX = 'cns-'

/**
 * Where `subnet lease` takes this host's addresses from when no --public-ip is given,
 * inside namespaces made for it: the interface named by --iface, else the interface of
 * the default route (and, with IPv6 in the config, of the default IPv6 route); and an
 * interface without the address it needs is refused with nothing changed.
 *
 * h1: eth0 10.94.0.1/24 + fd00:94::1/64, default routes (IPv4 and IPv6) through eth0,
 *     and a second interface cns-d1 (MTU 1400) with 10.94.1.5/24 + fd00:94:1::5/64.
 * h2: eth0 10.94.0.2/24 only, no default route, an interface cns-e0 with no address
 *     and one, cns-d4, with an IPv4 address only.
 */
describe('subnet lease takes the public addresses from the host', () => {
  let underlay: Underlay
  let etcd: EtcdMember
  let store: Store
  let dir: string
  const h1 = () => underlay.hosts[0].ns
  const h2 = () => underlay.hosts[1].ns
  let n = 0
  /** An interface that is up with nothing else attached: a veth pair with both ends in the namespace (no dummy module here). */
  async function extraInterface(ns: string, name: string, mtu = '1500') {
    await ip('-n', ns, 'link', 'add', name, 'mtu', mtu, 'type', 'veth', 'peer', 'name', `${name}p`, 'mtu', mtu)
    await ip('-n', ns, 'link', 'set', `${name}p`, 'up')
    await ip('-n', ns, 'link', 'set', name, 'up')
  }
  const subnetDir = () => mkdtempSync(join(dir, `run${++n}-`))

  beforeAll(async () => {
    await cleanup(PREFIX)
    dir = mkdtempSync(join(tmpdir(), 'cns-'))
    underlay = await createUnderlay(PREFIX, 2, '10.94.0')
    etcd = await startEtcd({name: 'subnet-host', host: underlay.rootAddress})
    store = await openStore({endpoints: [etcd.endpoint]})
    // h1: IPv6 on eth0, default routes, a second interface with both families.
    await ip('-n', h1(), 'addr', 'add', 'fd00:94::1/64', 'dev', 'eth0', 'nodad')
    await ip('-n', h1(), 'route', 'add', 'default', 'via', underlay.rootAddress, 'dev', 'eth0')
    await ip('-n', h1(), '-6', 'route', 'add', 'default', 'via', 'fd00:94::fe', 'dev', 'eth0')
    await extraInterface(h1(), 'cns-d1', '1400')
    await ip('-n', h1(), 'addr', 'add', '10.94.1.5/24', 'dev', 'cns-d1')
    await ip('-n', h1(), 'addr', 'add', 'fd00:94:1::5/64', 'dev', 'cns-d1', 'nodad')
    // h2: an interface with no address, one with IPv4 only, no default route.
    await extraInterface(h2(), 'cns-e0')
    await extraInterface(h2(), 'cns-d4')
    await ip('-n', h2(), 'addr', 'add', '10.94.4.4/24', 'dev', 'cns-d4')
  }, 60_000)

  afterAll(async () => {
    await store?.close()
    expect(await tearDown(PREFIX, {etcd, dir})).toEqual({namespaces: [], links: []})
  }, 30_000)

  async function network(args: string[]) {
    const prefixes = uniquePrefixes('host')
    const env = cliEnv(etcd.endpoint, prefixes)
    expect((await runCli(['network', 'init', ...args], {env})).exitCode).toBe(0)
    return {prefixes, env}
  }
  const snapshot = async (root: string) => (await store.list(root)).items.map(({key, value, modRevision, lease}) => ({key, value, modRevision, lease}))

  it('--iface NAME: the addresses of that interface, and its MTU', async () => {
    const {env} = await network(['--network', '10.63.0.0/16', '--ipv6-network', 'fd00:63::/56'])
    const file = join(subnetDir(), 'subnet.env')
    const result = await runCli(['subnet', 'lease', '--iface', 'cns-d1', '--subnet-file', file, '--json'], {env, netns: h1()})
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
    const out = JSON.parse(result.stdout)
    expect(out).toMatchObject({publicIp: '10.94.1.5', publicIpv6: 'fd00:94:1::5'})
    expect(JSON.parse((await store.get(out.key))!.value)).toMatchObject({PublicIP: '10.94.1.5', PublicIPv6: 'fd00:94:1::5'})
    // The interface's MTU (1400) less the IPv6 device's 70 bytes: pods fit both devices.
    expect(readFileSync(file, 'utf8')).toContain('FLANNEL_MTU=1330\n')
  })

  it('no flag: the addresses of the default routes\' interface', async () => {
    const {env} = await network(['--network', '10.64.0.0/16', '--ipv6-network', 'fd00:64::/56'])
    const file = join(subnetDir(), 'subnet.env')
    const result = await runCli(['subnet', 'lease', '--subnet-file', file, '--json'], {env, netns: h1()})
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
    const out = JSON.parse(result.stdout)
    expect(out).toMatchObject({publicIp: underlay.hosts[0].address, publicIpv6: 'fd00:94::1'})
    expect(JSON.parse((await store.get(out.key))!.value)).toMatchObject({PublicIP: underlay.hosts[0].address, PublicIPv6: 'fd00:94::1'})
    expect(readFileSync(file, 'utf8')).toContain('FLANNEL_MTU=1430\n')
  })

  it('IPv4 only in the config: PublicIPv6 stays null, whatever the host has', async () => {
    const {env} = await network(['--network', '10.65.0.0/16'])
    const result = await runCli(['subnet', 'lease', '--subnet-file', join(subnetDir(), 'subnet.env'), '--json'], {env, netns: h1()})
    expect(result.exitCode).toBe(0)
    const out = JSON.parse(result.stdout)
    expect(out.publicIpv6).toBeUndefined()
    expect(JSON.parse((await store.get(out.key))!.value)).toMatchObject({PublicIP: underlay.hosts[0].address, PublicIPv6: null})
  })

  it('dual stack on a host with no IPv6 route: PublicIPv6 null, with a warning', async () => {
    const {env} = await network(['--network', '10.66.0.0/16', '--ipv6-network', 'fd00:66::/56'])
    const result = await runCli(['subnet', 'lease', '--public-ip', underlay.hosts[1].address, '--subnet-file', join(subnetDir(), 'subnet.env'), '--json'], {env, netns: h2()})
    expect(result.exitCode).toBe(0)
    expect(result.stderr).toMatch(/WARN .*no global IPv6 address found for PublicIPv6/)
    const out = JSON.parse(result.stdout)
    expect(out.publicIpv6).toBeNull()
    expect(JSON.parse((await store.get(out.key))!.value)).toMatchObject({PublicIP: underlay.hosts[1].address, PublicIPv6: null})
  })

  it('an interface without the address it needs, or no default route: exit 2, one line, nothing changed', async () => {
    const {prefixes, env} = await network(['--network', '10.67.0.0/16', '--ipv6-network', 'fd00:67::/56'])
    const cases: [string[], RegExp][] = [
      [['--iface', 'cns-e0'], /^cnet: --iface: cns-e0 has no IPv4 address/],
      [['--iface', 'cns-d4'], /^cnet: --iface: cns-d4 has no global IPv6 address/],
      [[], /^cnet: --public-ip: no default route with an IPv4 address/],
    ]
    const before = await snapshot(prefixes.networkPrefix)
    for (const [args, message] of cases) {
      const runDir = subnetDir()
      const result = await runCli(['subnet', 'lease', '--subnet-file', join(runDir, 'subnet.env'), ...args], {env, netns: h2()})
      expect({exitCode: result.exitCode, stderr: result.stderr}).toEqual({exitCode: 2, stderr: expect.stringMatching(message)})
      expect(result.stderr.trim().split('\n')).toHaveLength(1)
      expect(readdirSync(runDir)).toEqual([]) // no subnet.env, no vtep-mac
    }
    expect(await snapshot(prefixes.networkPrefix)).toEqual(before)
  })
})
