import {rmSync} from 'node:fs'
import {afterEach, describe, expect, it} from '@jest/globals'
import {ConfigError, InvalidValueError} from '../../src/lib/errors.js'
import {parseNetworkConfig} from '../../src/net/network-config.js'
import {downTargetOf, overlayDown} from '../../src/net/vxlan/down.js'
import {vxlanStatus} from '../../src/net/vxlan/status.js'
import {vxlanUp} from '../../src/net/vxlan/up.js'
import {OverlayFixture, keys} from '../helpers/overlay-fixture.js'

/** `vxlan up`, `status` and `down` through a recording kernel and a store in memory. */
const fixtures: OverlayFixture[] = []
const fixture = (...args: ConstructorParameters<typeof OverlayFixture>) => {
  const f = new OverlayFixture(...args)
  fixtures.push(f)
  return f
}
afterEach(() => fixtures.splice(0).forEach((f) => f.cleanup()))

const DUAL = {Network: '10.5.0.0/16', EnableIPv6: true, IPv6Network: 'fd00::/48', Backend: {Type: 'vxlan'}}
const V6_ONLY = {EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fd00::/48', Backend: {Type: 'vxlan'}}
const HOST_GW = {Network: '10.5.0.0/16', Backend: {Type: 'host-gw'}}

describe('vxlan up', () => {
  it('IPv4: creates the device, programs each peer, and a second run applies nothing', async () => {
    const f = fixture()
    await f.addPeer(2)
    await f.addPeer(3)
    const first = await vxlanUp(f.ctx, f.settings(), false)
    expect(first).toMatchObject({backend: 'vxlan', device: 'cnet.1', subnet: '10.5.1.0/24', publicIp: '192.168.1.1', underlay: 'eth0', mtu: 1450, peers: 2, applied: 9, iptables: null, ip6tables: null, sharedMacs: []})
    expect(f.kernel.devices.get('cnet.1')).toMatchObject({vni: 1, port: 8472, local: '192.168.1.1', up: true, addresses: ['10.5.1.0/32']})
    expect(f.routesOn('cnet.1')).toEqual(['10.5.2.0/24', '10.5.3.0/24'])
    const again = await vxlanUp(f.ctx, f.settings(), false)
    expect(again).toMatchObject({applied: 0, operations: []})
  })

  it('where the kernel has nexthop objects, IPv4 routes name theirs and IPv6 ones keep their gateway inline; an inline IPv4 route is written again once', async () => {
    const f = fixture({config: DUAL, v6: 'fd00:0:0:1::/64'})
    f.kernel.hasNexthops = true
    await f.addPeer(2, {v6: true})
    const first = await vxlanUp(f.ctx, f.settings(), false)
    const v4 = {dst: '10.5.2.0/24', via: '10.5.2.0', dev: 'cnet.1', onlink: true}
    expect(first.operations.flatMap((op) => (op.op === 'route-replace' ? [op.route] : []))).toEqual([{...v4, nhid: 168100352}, {dst: 'fd00:0:0:2::/64', via: 'fd00:0:0:2::', dev: 'cnet-v6.1', onlink: true}])
    expect(await vxlanUp(f.ctx, f.settings(), false)).toMatchObject({applied: 0, operations: []})
    // As flannel or an earlier cnet wrote it.
    f.kernel.routesTable = [...f.kernel.routesTable.filter((r) => r.dst !== v4.dst), v4]
    expect((await vxlanUp(f.ctx, f.settings(), false)).operations).toEqual([{op: 'route-replace', route: {...v4, nhid: 168100352}}])
    expect(await vxlanUp(f.ctx, f.settings(), false)).toMatchObject({applied: 0, operations: []})
  })

  it('--dry-run plans without changing the kernel', async () => {
    const f = fixture()
    await f.addPeer(2)
    const plan = await vxlanUp(f.ctx, f.settings({ipMasq: true}), true)
    expect(plan.applied).toBe(0)
    expect(plan.operations.length).toBe(6)
    expect(plan.iptables).toContain('-A CNET-POSTRTG -s 10.5.0.0/16 ! -d 224.0.0.0/4 -j MASQUERADE --random-fully')
    expect(f.kernel.count('apply')).toBe(0)
    expect(f.kernel.restored).toEqual([])
  })

  it('dual stack: an IPv6 device of its own (MAC from BackendV6Data, 70 bytes of overhead), IPv6 entries via PublicIPv6, ip6tables rules', async () => {
    const f = fixture({config: DUAL, v6: 'fd00:0:0:1::/64'})
    await f.addPeer(2, {v6: true})
    await f.addPeer(3, {v6: true, PublicIPv6: null, BackendV6Data: undefined}) // no PublicIPv6: an IPv4 peer only
    const result = await vxlanUp(f.ctx, f.settings({ipMasq: true}), false)
    expect(result.families).toEqual([
      {family: 4, device: 'cnet.1', subnet: '10.5.1.0/24', publicIp: '192.168.1.1', mtu: 1450, peers: 2},
      {family: 6, device: 'cnet-v6.1', subnet: 'fd00:0:0:1::/64', publicIp: '2001:db8::1', mtu: 1430, peers: 1},
    ])
    expect(result.peers).toBe(2)
    expect(result.rejected).toEqual([{name: expect.stringMatching(/^10\.5\.3\.0-24&/), family: 6, reason: expect.stringContaining('no PublicIPv6')}])
    expect(f.kernel.devices.get('cnet-v6.1')).toMatchObject({local: '2001:db8::1', mac: '02:00:00:00:60:01', mtu: 1430, addresses: ['fd00:0:0:1::/128'], neighs: [{ip: 'fd00:0:0:2::', mac: '02:00:00:00:60:02'}], fdbs: [{mac: '02:00:00:00:60:02', dst: '2001:db8::2'}]})
    expect(f.routesOn('cnet-v6.1')).toEqual(['fd00:0:0:2::/64'])
    expect(result.ip6tables).toContain('-A CNET-POSTRTG -s fd00::/48 ! -d ff00::/8 -j MASQUERADE --random-fully')
    expect(f.kernel.restored.map((r) => r.family)).toEqual([4, 6])
    // Both families in one batch per phase: devices, addresses, neighbours, fdb entries, routes.
    const kinds = result.operations.map((o) => o.op)
    expect(kinds.lastIndexOf('device-up')).toBeLessThan(kinds.indexOf('address-add'))
    expect(kinds.lastIndexOf('neigh-replace')).toBeLessThan(kinds.indexOf('fdb-replace'))
    expect(kinds.lastIndexOf('fdb-replace')).toBeLessThan(kinds.indexOf('route-replace'))
    expect((await vxlanUp(f.ctx, f.settings({ipMasq: true}), false)).applied).toBe(0)
  })

  it('dual stack, but this host has no PublicIPv6: IPv4 only, with a warning', async () => {
    const f = fixture({config: DUAL, v6: 'fd00:0:0:1::/64', attrs: {PublicIPv6: null}})
    const result = await vxlanUp(f.ctx, f.settings(), false)
    expect(result.families.map((r) => r.family)).toEqual([4])
    expect(f.logger.lines).toContainEqual({level: 'warn', msg: 'family not programmed', fields: {family: 'IPv6', reason: expect.stringContaining('no PublicIPv6')}})
  })

  it('IPv6 only: the IPv6 device alone', async () => {
    const f = fixture({config: V6_ONLY, v6: 'fd00:0:0:1::/64'})
    const name = 'fd00:0:0:2::-64'
    await f.store.put(keys.subnet(name), JSON.stringify({PublicIP: '0.0.0.0', PublicIPv6: '2001:db8::2', BackendType: 'vxlan', BackendV6Data: {VNI: 1, VtepMAC: '02:00:00:00:60:02'}}))
    const result = await vxlanUp(f.ctx, f.settings(), false)
    expect(result).toMatchObject({device: 'cnet-v6.1', subnet: 'fd00:0:0:1::/64', publicIp: '2001:db8::1', mtu: 1430, peers: 1})
    expect([...f.kernel.devices.keys()]).toEqual(['cnet-v6.1'])
    expect(f.routesOn('cnet-v6.1')).toEqual(['fd00:0:0:2::/64'])
  })

  it('host-gw: one route per peer via its public IP on the underlay, no device; a peer off the segment is refused', async () => {
    const f = fixture({config: HOST_GW})
    await f.store.put(keys.subnet('10.5.2.0-24'), JSON.stringify({PublicIP: '192.168.1.2', PublicIPv6: null, BackendType: 'host-gw'}))
    await f.store.put(keys.subnet('10.5.3.0-24'), JSON.stringify({PublicIP: '192.168.7.3', PublicIPv6: null, BackendType: 'host-gw'}))
    await f.addPeer(4) // a vxlan lease: another backend, ignored as flannel does
    const result = await vxlanUp(f.ctx, f.settings(), false)
    expect(result).toMatchObject({backend: 'host-gw', device: null, mtu: 1500, peers: 1, applied: 1})
    expect(result.operations).toEqual([{op: 'route-replace', route: {dst: '10.5.2.0/24', via: '192.168.1.2', dev: 'eth0', onlink: false}}])
    expect(result.rejected.map((r) => [r.name, r.reason])).toEqual([
      ['10.5.4.0-24', expect.stringContaining('its backend is "vxlan", this host\'s is "host-gw"')],
      ['10.5.3.0-24', expect.stringContaining("192.168.7.3 is not on eth0's segment (192.168.1.0/24, 2001:db8::/64)".replace(', 2001:db8::/64', ''))],
    ])
    expect(f.kernel.devices.size).toBe(0)
    expect((await vxlanUp(f.ctx, f.settings(), false)).applied).toBe(0)
    // A route left by a peer that is gone is removed.
    await f.store.delete(keys.subnet('10.5.2.0-24'))
    expect((await vxlanUp(f.ctx, f.settings(), false)).operations).toEqual([{op: 'route-del', route: {dst: '10.5.2.0/24', via: '192.168.1.2', dev: 'eth0', onlink: false}}])
  })

  it('host-gw behind NAT (the public IP is not the underlay\'s) is refused, as flannel refuses it', async () => {
    const f = fixture({config: HOST_GW, attrs: {PublicIP: '203.0.113.9'}})
    await expect(vxlanUp(f.ctx, f.settings({iface: 'eth0'}), false)).rejects.toThrow(/host-gw needs this host's public address 203\.0\.113\.9 on the underlay eth0/)
  })

  it.each<[string, (f: OverlayFixture) => Promise<void> | void, Partial<Record<string, string>>, RegExp, number]>([
    ['no subnet file', (f) => rmSync(f.subnetFile), {}, /cannot read the subnet file/, 3],
    ['no lease', async (f) => void (await f.store.delete(keys.subnet(f.selfName))), {}, /no lease for 10\.5\.1\.0\/24/, 3],
    ['a lease of another backend', async (f) => void (await f.store.put(keys.subnet(f.selfName), JSON.stringify({PublicIP: '192.168.1.1', BackendType: 'host-gw'}))), {}, /is for backend "host-gw" but the network config says "vxlan"/, 3],
    ['no interface of that name', () => {}, {iface: 'wlan9'}, /^iface: no interface named wlan9/, 2],
    ['a device name too long', () => {}, {deviceName: 'cnet-overlay.12345'}, /^device: cnet-overlay\.12345 is longer than 15 characters/, 2],
  ])('refuses %s with a typed error and changes nothing', async (_what, spoil, settings, message, exitCode) => {
    const f = fixture()
    await spoil(f)
    const error = await vxlanUp(f.ctx, f.settings(settings), false).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(exitCode === 2 ? InvalidValueError : ConfigError)
    expect((error as Error).message).toMatch(message)
    expect(f.kernel.count('apply')).toBe(0)
  })

  it('warns about two leases with one VTEP MAC', async () => {
    const f = fixture()
    await f.addPeer(2)
    await f.addPeer(3, {BackendData: {VNI: 1, VtepMAC: '02:00:00:00:00:02'}})
    const result = await vxlanUp(f.ctx, f.settings(), false)
    expect(result.sharedMacs).toEqual([{family: 4, mac: '02:00:00:00:00:02', leases: ['10.5.2.0-24', '10.5.3.0-24']}])
    expect(f.logger.lines.some((l) => l.level === 'warn' && l.msg.startsWith('leases share one VTEP MAC'))).toBe(true)
  })
})

describe('vxlan status', () => {
  it('shows each peer as programmed, partial or missing, and the drift', async () => {
    const f = fixture({config: DUAL, v6: 'fd00:0:0:1::/64'})
    await f.addPeer(2, {v6: true})
    await vxlanUp(f.ctx, f.settings(), false)
    await f.addPeer(3, {v6: true, PublicIPv6: null, BackendV6Data: undefined})
    f.kernel.routesTable = f.kernel.routesTable.filter((r) => r.dst !== 'fd00:0:0:2::/64')
    const status = await vxlanStatus(f.ctx, f.settings())
    expect(status.inSync).toBe(false)
    expect(status.peers.map((p) => [p.subnet, p.state])).toEqual([
      ['10.5.2.0/24', 'programmed'],
      ['10.5.3.0/24', 'missing'],
      ['fd00:0:0:2::/64', 'partial'],
    ])
    expect(status.families.map((fam) => [fam.family, fam.device?.name, fam.address])).toEqual([
      [4, 'cnet.1', '10.5.1.0/32'],
      [6, 'cnet-v6.1', 'fd00:0:0:1::/128'],
    ])
    expect(status.drift.map((o) => o.op)).toEqual(['neigh-replace', 'fdb-replace', 'route-replace', 'route-replace'])
  })

  it('host-gw: a peer with its route is programmed', async () => {
    const f = fixture({config: HOST_GW})
    await f.store.put(keys.subnet('10.5.2.0-24'), JSON.stringify({PublicIP: '192.168.1.2', BackendType: 'host-gw'}))
    await vxlanUp(f.ctx, f.settings(), false)
    const status = await vxlanStatus(f.ctx, f.settings())
    expect(status).toMatchObject({backend: 'host-gw', device: null, inSync: true, peers: [{subnet: '10.5.2.0/24', state: 'programmed', vtepMac: null}]})
  })
})

describe('vxlan down', () => {
  it('removes both devices, direct routes and the chains of both families; a second run removes nothing', async () => {
    const f = fixture({config: {...DUAL, Backend: {Type: 'vxlan', DirectRouting: true}}, v6: 'fd00:0:0:1::/64'})
    await f.addPeer(2, {v6: true}) // on the segment: direct routes
    await f.addPeer(3, {PublicIP: '192.168.9.3'}) // off it: through the device
    await vxlanUp(f.ctx, f.settings({ipMasq: true}), false)
    expect(f.routesOn('eth0')).toEqual(['10.5.2.0/24', 'fd00:0:0:2::/64'])
    const parsed = parseNetworkConfig(DUAL)
    if (!parsed.ok) throw new Error('fixture')
    const target = downTargetOf(parsed.config)
    expect(target.devices).toEqual(['cnet.1', 'cnet-v6.1'])
    const down = await overlayDown(f.kernel, target)
    expect(down).toEqual({device: 'cnet.1', deviceRemoved: true, devices: [{name: 'cnet.1', removed: true}, {name: 'cnet-v6.1', removed: true}], routesRemoved: 2, iptablesRemoved: true})
    expect(f.kernel.devices.size).toBe(0)
    expect(f.kernel.routesTable).toEqual([])
    expect(f.kernel.iptables[4]).not.toContain('CNET-')
    expect(f.kernel.iptables[6]).not.toContain('CNET-')
    expect(await overlayDown(f.kernel, target)).toMatchObject({deviceRemoved: false, routesRemoved: 0, iptablesRemoved: false})
  })

  it('host-gw: no device to remove; the routes go', async () => {
    const parsed = parseNetworkConfig(HOST_GW)
    if (!parsed.ok) throw new Error('fixture')
    const f = fixture({config: HOST_GW})
    await f.store.put(keys.subnet('10.5.2.0-24'), JSON.stringify({PublicIP: '192.168.1.2', BackendType: 'host-gw'}))
    await vxlanUp(f.ctx, f.settings(), false)
    expect(await overlayDown(f.kernel, downTargetOf(parsed.config))).toEqual({device: null, deviceRemoved: false, devices: [], routesRemoved: 1, iptablesRemoved: false})
  })
})
