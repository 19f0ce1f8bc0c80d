import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {cliEnv, runCli, startCliDaemon} from '../helpers/cli.js'
import {type EtcdMember, sleep, startEtcd} from '../helpers/etcd.js'
import {attachPod, cleanup, createUnderlay, inNs, ip, tearDown, type Underlay} from '../helpers/netns.js'
import {uniquePrefixes} from '../helpers/shared-etcd.js'

const PREFIX = 'cnr-'
const DEVICE = 'cnet.7'

/**
 * DirectRouting: peers on the same L2 segment are reached by a plain route through the
 * underlay, no encapsulation. Then an interface flap, which drops those routes from the
 * kernel (flannel needs a restart for it): the --watch resync puts them back. Then the
 * host-gw backend on the same two hosts: the same plain routes, without any device.
 */
describe('vxlan with DirectRouting, then host-gw, between two hosts on one segment', () => {
  let underlay: Underlay
  let etcd: EtcdMember
  let dir: string
  let env: Record<string, string>
  const subnets = new Map<number, string>()
  const ns = (i: number) => underlay.hosts[i - 1].ns
  const subnetFile = (i: number) => join(dir, `h${i}`, 'subnet.env')
  const gatewayOf = (i: number) => subnets.get(i)!.replace(/\/\d+$/, '')
  const directRoute = async (from: number, to: number) => (await ip('-n', ns(from), 'route', 'show', subnets.get(to)!)).trim()

  beforeAll(async () => {
    await cleanup(PREFIX)
    dir = mkdtempSync(join(tmpdir(), 'cnr-'))
    underlay = await createUnderlay(PREFIX, 2, '10.96.0')
    etcd = await startEtcd({name: 'direct', host: underlay.rootAddress})
    env = cliEnv(etcd.endpoint, uniquePrefixes('direct'))
    expect((await runCli(['network', 'init', '--network', '10.61.0.0/16', '--vni', '7', '--direct-routing'], {env})).exitCode).toBe(0)
    for (const i of [1, 2]) {
      const lease = await runCli(['subnet', 'lease', '--public-ip', underlay.hosts[i - 1].address, '--subnet-file', subnetFile(i), '--json'], {env, netns: ns(i)})
      expect(lease.exitCode).toBe(0)
      subnets.set(i, JSON.parse(lease.stdout).subnet)
    }
  }, 60_000)

  afterAll(async () => {
    expect(await tearDown(PREFIX, {etcd, dir})).toEqual({namespaces: [], links: []})
  }, 30_000)

  it('routes to the peer through the underlay, not the device, and packets cross', async () => {
    for (const i of [1, 2]) expect((await runCli(['vxlan', 'up', '--subnet-file', subnetFile(i)], {env, netns: ns(i)})).exitCode).toBe(0)
    expect(await directRoute(1, 2)).toBe(`${subnets.get(2)} via ${underlay.hosts[1].address} dev eth0`)
    expect(await ip('-n', ns(1), 'neigh', 'show', 'dev', DEVICE)).not.toContain(gatewayOf(2))
    expect(await inNs(ns(1), 'ping', ['-c', '2', '-W', '2', gatewayOf(2)])).toMatch(/2 received/)
  }, 60_000)

  it('an interface flap drops the direct route; the --watch resync restores it', async () => {
    const watch = startCliDaemon(['vxlan', 'up', '--watch', '--subnet-file', subnetFile(1), '--resync', '1s', '--log-format', 'json'], {env, netns: ns(1)})
    try {
      await watch.waitForLog('"reconciled"')
      await ip('-n', ns(1), 'link', 'set', 'eth0', 'down')
      expect(await directRoute(1, 2)).toBe('') // the kernel dropped it with the link
      await ip('-n', ns(1), 'link', 'set', 'eth0', 'up')
      let restored = ''
      for (let i = 0; i < 100 && !restored; i++) {
        await sleep(100)
        restored = await directRoute(1, 2)
      }
      expect(restored).toBe(`${subnets.get(2)} via ${underlay.hosts[1].address} dev eth0`)
      expect(await inNs(ns(1), 'ping', ['-c', '1', '-W', '2', gatewayOf(2)])).toMatch(/1 received/)
    } finally {
      expect(await watch.stop()).toBe(0)
    }
  }, 60_000)

  it('vxlan down removes the direct routes too', async () => {
    for (const i of [1, 2]) {
      const down = await runCli(['vxlan', 'down', '--json'], {env, netns: ns(i)})
      expect(down.exitCode).toBe(0)
      expect(JSON.parse(down.stdout)).toMatchObject({deviceRemoved: true, routesRemoved: 1})
      expect(await ip('-n', ns(i), 'route', 'show')).not.toContain('10.61.')
    }
  }, 30_000)

  describe('host-gw', () => {
    const gw = new Map<number, string>()
    let gwEnv: Record<string, string>
    const gwFile = (i: number) => join(dir, 'gw', `h${i}`, 'subnet.env')
    const route = async (from: number, subnet: string) => (await ip('-n', ns(from), 'route', 'show', subnet)).trim()

    beforeAll(async () => {
      gwEnv = cliEnv(etcd.endpoint, uniquePrefixes('host-gw'))
      expect((await runCli(['network', 'init', '--network', '10.64.0.0/16', '--backend', 'host-gw'], {env: gwEnv})).exitCode).toBe(0)
      for (const i of [1, 2]) {
        const lease = await runCli(['subnet', 'lease', '--iface', 'eth0', '--subnet-file', gwFile(i), '--json'], {env: gwEnv, netns: ns(i)})
        expect(lease.exitCode).toBe(0)
        const result = JSON.parse(lease.stdout)
        expect(result).toMatchObject({backend: 'host-gw', vtepMac: null})
        gw.set(i, result.subnet)
      }
      // A host on another segment (a reservation stands in for it): host-gw cannot reach it.
      expect((await runCli(['subnet', 'reserve', '10.64.200.0/24', '--public-ip', '192.0.2.7'], {env: gwEnv})).exitCode).toBe(0)
    }, 60_000)

    it('overlay up programs one route per peer via its public IP, refuses the peer off the segment, and pods ping across', async () => {
      for (const i of [1, 2]) {
        const r = await runCli(['overlay', 'up', '--subnet-file', gwFile(i), '--json'], {env: gwEnv, netns: ns(i)})
        expect(r.exitCode).toBe(0)
        const result = JSON.parse(r.stdout)
        expect(result).toMatchObject({backend: 'host-gw', device: null, mtu: 1500, peers: 1})
        expect(result.rejected).toEqual([{name: '10.64.200.0-24', family: 4, reason: expect.stringContaining("192.0.2.7 is not on eth0's segment (10.96.0.0/24)")}])
        expect(r.stderr).toContain('lease ignored')
      }
      expect(await route(1, gw.get(2)!)).toBe(`${gw.get(2)} via ${underlay.hosts[1].address} dev eth0`)
      expect(await route(1, '10.64.200.0/24')).toBe('')
      expect(await ip('-n', ns(1), '-j', 'link', 'show')).not.toContain('cnet')
      const pods = await Promise.all([1, 2].map((i) => attachPod(ns(i), `${PREFIX}p${i}`, `${PREFIX}v${i}`, {v4: gw.get(i)})))
      expect(await inNs(`${PREFIX}p1`, 'ping', ['-c', '2', '-i', '0.2', '-W', '2', pods[1].v4!])).toMatch(/2 received/)
      const again = await runCli(['vxlan', 'up', '--subnet-file', gwFile(1), '--json'], {env: gwEnv, netns: ns(1)})
      expect(JSON.parse(again.stdout)).toMatchObject({applied: 0})
      const status = JSON.parse((await runCli(['overlay', 'status', '--subnet-file', gwFile(1), '--json'], {env: gwEnv, netns: ns(1)})).stdout)
      expect(status).toMatchObject({backend: 'host-gw', inSync: true, peers: [{subnet: gw.get(2), state: 'programmed'}]})
    }, 60_000)

    it('--watch removes the route of a released lease; overlay down removes the rest', async () => {
      const watch = startCliDaemon(['overlay', 'up', '--watch', '--subnet-file', gwFile(1), '--resync', '30s', '--log-format', 'json'], {env: gwEnv, netns: ns(1)})
      try {
        await watch.waitForLog('"reconciled"')
        const released = await runCli(['subnet', 'release', '--subnet-file', gwFile(2), '--json'], {env: gwEnv, netns: ns(2)})
        expect(JSON.parse(released.stdout)).toMatchObject({released: true})
        let gone = ''
        for (let n = 0; n < 100; n++) {
          gone = await route(1, gw.get(2)!)
          if (!gone) break
          await sleep(50)
        }
        expect(gone).toBe('')
      } finally {
        expect(await watch.stop()).toBe(0)
      }
      // Leased again, programmed again; then down takes the route away.
      expect((await runCli(['subnet', 'lease', '--iface', 'eth0', '--subnet-file', gwFile(2)], {env: gwEnv, netns: ns(2)})).exitCode).toBe(0)
      expect((await runCli(['overlay', 'up', '--subnet-file', gwFile(1)], {env: gwEnv, netns: ns(1)})).exitCode).toBe(0)
      expect(await route(1, gw.get(2)!)).not.toBe('')
      const down = await runCli(['overlay', 'down', '--json'], {env: gwEnv, netns: ns(1)})
      expect(JSON.parse(down.stdout)).toMatchObject({device: null, routesRemoved: 1})
      expect(await route(1, gw.get(2)!)).toBe('')
    }, 60_000)
  })
})
