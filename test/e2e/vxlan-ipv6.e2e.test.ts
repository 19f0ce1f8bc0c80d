import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {cliEnv, runCli, startCliDaemon} from '../helpers/cli.js'
import {type EtcdMember, sleep, startEtcd} from '../helpers/etcd.js'
import {attachPod, cleanup, createUnderlay, inNs, ip, sh, tearDown, type Underlay} from '../helpers/netns.js'
import {uniquePrefixes} from '../helpers/shared-etcd.js'

const PREFIX = 'cn6-'
const V4 = 'cnet.1'
const V6 = 'cnet-v6.1'

interface Leased {
  subnet: string
  ipv6Subnet?: string
  vtepMac: string | null
  vtepMacV6?: string
}

/**
 * The IPv6 overlay across three hosts in namespaces whose underlay has IPv6 addresses:
 * dual stack first (an IPv4 and an IPv6 VXLAN device per host, pods with both families
 * pinging across hosts), then an IPv6-only network on the same hosts.
 */
describe('IPv6 overlay across three hosts', () => {
  let underlay: Underlay
  let etcd: EtcdMember
  let dir: string
  let env: Record<string, string>
  const leased = new Map<number, Leased>()
  const pods = new Map<number, {v4?: string; v6?: string}>()
  const ns = (i: number) => underlay.hosts[i - 1].ns
  const subnetFile = (i: number, net = 'dual') => join(dir, net, `h${i}`, 'subnet.env')
  const lease = async (i: number, net = 'dual', extra: string[] = []) => {
    const h = underlay.hosts[i - 1]
    const r = await runCli(['subnet', 'lease', '--public-ip', h.address, '--public-ipv6', h.address6!, '--subnet-file', subnetFile(i, net), '--json', ...extra], {env, netns: ns(i)})
    expect(r.stderr).toBe('')
    expect(r.exitCode).toBe(0)
    const result = JSON.parse(r.stdout) as Leased
    leased.set(i, result)
    return result
  }
  const up = async (i: number, net = 'dual', ...extra: string[]) => {
    const r = await runCli(['vxlan', 'up', '--subnet-file', subnetFile(i, net), '--json', ...extra], {env, netns: ns(i)})
    expect(r.stderr).toBe('')
    expect(r.exitCode).toBe(0)
    return JSON.parse(r.stdout)
  }
  const ping = (from: number, to: string) => inNs(`${PREFIX}p${from}`, 'ping', ['-c', '2', '-i', '0.2', '-W', '2', to])
  const routes6 = async (i: number) => JSON.parse((await ip('-n', ns(i), '-6', '-j', 'route', 'show', 'dev', V6).catch(() => '[]')) || '[]') as {dst: string}[]

  beforeAll(async () => {
    await cleanup(PREFIX)
    dir = mkdtempSync(join(tmpdir(), 'cn6-'))
    underlay = await createUnderlay(PREFIX, 3, '10.93.0', 'fd93:0:0:1')
    etcd = await startEtcd({name: 'vxlan-ipv6', host: underlay.rootAddress})
    env = cliEnv(etcd.endpoint, uniquePrefixes('ipv6'))
    const init = await runCli(['network', 'init', '--network', '10.62.0.0/16', '--ipv6-network', 'fd62::/48'], {env})
    expect(init.exitCode).toBe(0)
    for (const i of [1, 2, 3]) await lease(i)
  }, 60_000)

  afterAll(async () => {
    expect(await tearDown(PREFIX, {etcd, dir})).toEqual({namespaces: [], links: []})
  }, 30_000)

  it('dual stack: each host gets an IPv6 device beside the IPv4 one, with its own MAC, and IPv6 pods ping across hosts', async () => {
    for (const i of [1, 2, 3]) {
      const result = await up(i, 'dual', '--ip-masq')
      expect(result.families).toEqual([
        {family: 4, device: V4, subnet: leased.get(i)!.subnet, publicIp: underlay.hosts[i - 1].address, mtu: 1450, peers: 2},
        {family: 6, device: V6, subnet: leased.get(i)!.ipv6Subnet, publicIp: underlay.hosts[i - 1].address6, mtu: 1430, peers: 2},
      ])
    }
    const link = JSON.parse(await ip('-n', ns(1), '-j', '-d', 'link', 'show', 'dev', V6))[0]
    expect(link).toMatchObject({address: leased.get(1)!.vtepMacV6, mtu: 1430})
    expect(link.linkinfo.info_data).toMatchObject({id: 1, port: 8472, local6: underlay.hosts[0].address6, link: 'eth0', learning: false})
    expect(leased.get(1)!.vtepMacV6).not.toBe(leased.get(1)!.vtepMac)
    const peer2 = leased.get(2)!
    const gateway6 = peer2.ipv6Subnet!.replace(/\/64$/, '')
    expect(await ip('-n', ns(1), '-6', 'neigh', 'show', 'dev', V6)).toContain(`${gateway6} lladdr ${peer2.vtepMacV6} PERMANENT`)
    expect(await sh('bridge', ['-n', ns(1), 'fdb', 'show', 'dev', V6])).toContain(`${peer2.vtepMacV6} dst ${underlay.hosts[1].address6} self permanent`)
    expect(await ip('-n', ns(1), '-6', 'route', 'show', 'dev', V6)).toContain(`${peer2.ipv6Subnet} via ${gateway6} metric 1024 onlink`)

    for (const i of [1, 2, 3]) pods.set(i, await attachPod(ns(i), `${PREFIX}p${i}`, `${PREFIX}v${i}`, {v4: leased.get(i)!.subnet, v6: leased.get(i)!.ipv6Subnet}))
    for (const [from, to] of [[1, 2], [1, 3], [3, 2]]) {
      expect(await ping(from, pods.get(to)!.v6!)).toMatch(/2 received/)
      expect(await ping(from, pods.get(to)!.v4!)).toMatch(/2 received/)
    }
    // --ip-masq: the IPv6 rules in ip6tables, exactly once.
    const saved = await inNs(ns(1), 'ip6tables-save', [])
    expect(saved.split('\n').filter((l) => l === '-A CNET-POSTRTG -s fd62::/48 ! -d ff00::/8 -j MASQUERADE --random-fully')).toHaveLength(1)
    expect(saved.split('\n').filter((l) => l === '-A POSTROUTING -j CNET-POSTRTG')).toHaveLength(1)
  }, 90_000)

  it('a second run applies nothing; status shows IPv6 peers programmed and a deleted IPv6 route as drift', async () => {
    expect(await up(1, 'dual', '--ip-masq')).toMatchObject({applied: 0, operations: []})
    const status = async () => {
      const r = await runCli(['vxlan', 'status', '--subnet-file', subnetFile(1), '--json'], {env, netns: ns(1)})
      expect(r.exitCode).toBe(0)
      return JSON.parse(r.stdout)
    }
    const clean = await status()
    expect(clean.inSync).toBe(true)
    expect(clean.peers.filter((p: {family: number}) => p.family === 6).map((p: {state: string}) => p.state)).toEqual(['programmed', 'programmed'])
    await ip('-n', ns(1), '-6', 'route', 'del', leased.get(3)!.ipv6Subnet!, 'dev', V6)
    const drifted = await status()
    expect(drifted.drift).toEqual([{op: 'route-replace', route: {dst: leased.get(3)!.ipv6Subnet, via: leased.get(3)!.ipv6Subnet!.replace(/\/64$/, ''), dev: V6, onlink: true}}])
    const dry = await runCli(['vxlan', 'up', '--dry-run', '--subnet-file', subnetFile(1)], {env, netns: ns(1)})
    expect(dry.stdout).toContain(`ip route replace ${leased.get(3)!.ipv6Subnet} via ${leased.get(3)!.ipv6Subnet!.replace(/\/64$/, '')} dev ${V6} onlink`)
    expect((await up(1)).applied).toBe(1)
  }, 30_000)

  it('--watch follows a released lease on the IPv6 device too, and --metrics counts the peers of each family', async () => {
    // The port is on the host namespace's own loopback: nothing else uses it.
    const watch = startCliDaemon(['vxlan', 'up', '--watch', '--subnet-file', subnetFile(1), '--log-format', 'json', '--resync', '30s', '--metrics', '127.0.0.1:9156'], {env, netns: ns(1)})
    try {
      await watch.waitForLog('"reconciled"')
      const scrape = () => inNs(ns(1), 'curl', ['-sf', 'http://127.0.0.1:9156/metrics'])
      const before = await scrape()
      expect(before).toMatch(/^cnet_overlay_peers\{family="4"\} 2$/m)
      expect(before).toMatch(/^cnet_overlay_peers\{family="6"\} 2$/m)
      const docs = readFileSync(new URL('../../docs/overlay.md', import.meta.url), 'utf8')
      const documented = [...docs.matchAll(/^\| `(cnet_overlay_[a-z_]+)` \|/gm)].map((m) => m[1])
      expect([...before.matchAll(/^# TYPE (cnet_overlay_\S+)/gm)].map((m) => m[1]).sort()).toEqual(documented.sort())
      const r = await runCli(['subnet', 'release', '--subnet-file', subnetFile(3), '--json'], {env, netns: ns(3)})
      expect(JSON.parse(r.stdout)).toMatchObject({released: true})
      const gone = async () => !(await routes6(1)).some((route) => route.dst === leased.get(3)!.ipv6Subnet)
      let ok = false
      for (let n = 0; n < 100 && !ok; n++) {
        ok = await gone()
        if (!ok) await sleep(50)
      }
      expect(ok).toBe(true)
      expect(await ip('-n', ns(1), '-6', 'neigh', 'show', 'dev', V6)).not.toContain(leased.get(3)!.vtepMacV6!)
      const after = await scrape()
      expect(after).toMatch(/^cnet_overlay_peers\{family="6"\} 1$/m)
      expect(after).toMatch(/^cnet_overlay_lease_changes_total 1$/m)
    } finally {
      expect(await watch.stop()).toBe(0)
    }
  }, 60_000)

  it('vxlan down removes both devices and the IPv6 chains', async () => {
    for (const i of [1, 2]) {
      const r = await runCli(['vxlan', 'down', '--json'], {env, netns: ns(i)})
      expect(r.exitCode).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({devices: [{name: V4, removed: true}, {name: V6, removed: true}]})
      expect(await ip('-n', ns(i), '-j', 'link', 'show')).not.toContain('cnet')
      expect(await inNs(ns(i), 'ip6tables-save', [])).not.toContain('CNET-')
    }
  }, 30_000)

  it('IPv6 only: the IPv6 device alone, and IPv6 pods ping across hosts', async () => {
    env = cliEnv(etcd.endpoint, uniquePrefixes('ipv6-only'))
    expect((await runCli(['network', 'init', '--ipv6-network', 'fd63::/48'], {env})).exitCode).toBe(0)
    for (const i of [1, 2]) {
      const result = await lease(i, 'v6only')
      expect(result).toMatchObject({publicIp: '0.0.0.0', vtepMac: null, subnet: expect.stringMatching(/^fd63:/)})
      expect(readFileSync(subnetFile(i, 'v6only'), 'utf8')).not.toContain('FLANNEL_SUBNET=')
    }
    for (const i of [1, 2]) {
      const result = await up(i, 'v6only')
      expect(result).toMatchObject({device: V6, mtu: 1430, peers: 1, families: [{family: 6}]})
    }
    expect(await ip('-n', ns(1), '-j', 'link', 'show')).not.toContain(`"${V4}"`)
    for (const i of [1, 2]) {
      await ip('-n', ns(i), 'link', 'del', `${PREFIX}v${i}`) // the dual-stack pod's veth
      await ip('netns', 'del', `${PREFIX}p${i}`)
      pods.set(i, await attachPod(ns(i), `${PREFIX}p${i}`, `${PREFIX}v${i}`, {v6: leased.get(i)!.subnet}))
    }
    expect(await ping(1, pods.get(2)!.v6!)).toMatch(/2 received/)
    expect(await ping(2, pods.get(1)!.v6!)).toMatch(/2 received/)
  }, 60_000)
})
