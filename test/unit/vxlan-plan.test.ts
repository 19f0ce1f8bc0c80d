import {describe, expect, it} from '@jest/globals'
import {parseCidr} from '../../src/net/ip.js'
import {formatLeaseAttrs} from '../../src/net/lease.js'
import {type NetworkConfig, parseNetworkConfig, subnetPools} from '../../src/net/network-config.js'
import {parseActual} from '../../src/net/vxlan/actual.js'
import {batchText, ipLines, nexthopIdOf, toBatches, toStages} from '../../src/net/vxlan/batch.js'
import {type DesiredInput, desiredState as plan} from '../../src/net/vxlan/desired.js'
import {asActual, diffEntries, diffState} from '../../src/net/vxlan/diff.js'
import type {ActualState, DesiredState} from '../../src/net/vxlan/model.js'
import {peersFromLeases} from '../../src/net/vxlan/peers.js'

function config(backend: Record<string, unknown> = {}): NetworkConfig {
  const parsed = parseNetworkConfig({Network: '10.5.0.0/16', Backend: {Type: 'vxlan', ...backend}})
  if (!parsed.ok) throw new Error('bad fixture')
  return parsed.config
}

const lease = (publicIp: string, mac: string) => formatLeaseAttrs({PublicIP: publicIp, PublicIPv6: null, BackendType: 'vxlan', BackendData: {VNI: 1, VtepMAC: mac}})

const LEASES = [
  {name: '10.5.1.0-24', value: lease('192.168.1.1', '02:00:00:00:00:01')},
  {name: '10.5.3.0-24', value: lease('192.168.9.3', '02:00:00:00:00:03')},
  {name: '10.5.2.0-24', value: lease('192.168.1.2', '02:00:00:00:00:02')},
]

const rules = (cfg: NetworkConfig) => ({backend: cfg.Backend.Type, families: [4 as const], pools: subnetPools(cfg)})

function input(cfg = config(), leases = LEASES): DesiredInput {
  return {
    config: cfg,
    self: {family: 4, subnet: parseCidr('10.5.1.0/24')!, network: parseCidr('10.5.0.0/16')!, publicIp: '192.168.1.1', vtepMac: '02:00:00:00:00:01', deviceName: 'cnet.1'},
    peers: peersFromLeases(leases, '10.5.1.0-24', rules(cfg)).peers,
    underlay: {name: 'eth0', mtu: 1500, connected: [parseCidr('192.168.1.0/24')!]},
  }
}

const desiredState = (i: DesiredInput): DesiredState => plan(i).desired

const empty: ActualState = {addresses: [], neighs: [], fdbs: [], routes: []}

describe('peers from leases', () => {
  it('skips our own lease, sorts by subnet and reports keys that do not parse without dropping others', () => {
    const set = peersFromLeases(
      [...LEASES, {name: '10.5.9.0-24', value: '{not json'}, {name: 'junk', value: lease('1.2.3.4', '02:00:00:00:00:09')}, {name: '10.6.0.0-24', value: lease('1.2.3.4', '02:00:00:00:00:09')}],
      '10.5.1.0-24',
      rules(config()),
    )
    expect(set.peers.map((p) => p.name)).toEqual(['10.5.2.0-24', '10.5.3.0-24'])
    expect(set.rejected.map((r) => r.name)).toEqual(['10.5.9.0-24', 'junk', '10.6.0.0-24'])
    expect(set.rejected[2].reason).toMatch(/outside the network/)
  })
})

describe('desired state', () => {
  it('programs each peer as flannel does: neighbour, fdb, onlink route; device from the lease', () => {
    const d = desiredState(input())
    expect(d.device).toEqual({name: 'cnet.1', vni: 1, port: 8472, local: '192.168.1.1', underlay: 'eth0', mac: '02:00:00:00:00:01', mtu: 1450})
    expect(d.address).toBe('10.5.1.0/32')
    expect(d.neighs).toEqual([{ip: '10.5.2.0', mac: '02:00:00:00:00:02'}, {ip: '10.5.3.0', mac: '02:00:00:00:00:03'}])
    expect(d.fdbs).toEqual([{mac: '02:00:00:00:00:02', dst: '192.168.1.2'}, {mac: '02:00:00:00:00:03', dst: '192.168.9.3'}])
    expect(d.routes).toEqual([
      {dst: '10.5.2.0/24', via: '10.5.2.0', dev: 'cnet.1', onlink: true},
      {dst: '10.5.3.0/24', via: '10.5.3.0', dev: 'cnet.1', onlink: true},
    ])
  })

  it('uses the configured MTU minus 50 and the configured port', () => {
    const d = desiredState(input(config({MTU: 9000, Port: 4789, VNI: 7})))
    expect(d.device).toMatchObject({mtu: 8950, port: 4789, vni: 7})
  })

  it('with DirectRouting, a peer on the same segment gets a direct route and no neighbour or fdb entry', () => {
    const d = desiredState(input(config({DirectRouting: true})))
    expect(d.routes).toEqual([
      {dst: '10.5.2.0/24', via: '192.168.1.2', dev: 'eth0', onlink: false},
      {dst: '10.5.3.0/24', via: '10.5.3.0', dev: 'cnet.1', onlink: true},
    ])
    expect(d.neighs.map((n) => n.ip)).toEqual(['10.5.3.0'])
    expect(d.fdbs.map((f) => f.dst)).toEqual(['192.168.9.3'])
  })
})

// Output captured from iproute2 6.1 for a device holding one peer.
const FIXTURE = {
  deviceJson: JSON.stringify([{ifname: 'cnet.1', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: 1450, address: '02:00:00:00:00:01',
    linkinfo: {info_kind: 'vxlan', info_data: {id: 1, local: '192.168.1.1', link: 'eth0', port: 8472, learning: false}},
    addr_info: [{family: 'inet', local: '10.5.1.0', prefixlen: 32}, {family: 'inet6', local: 'fe80::1', prefixlen: 64}]}]),
  neighJson: JSON.stringify([{dst: '10.5.2.0', lladdr: '02:00:00:00:00:02', state: ['PERMANENT']}, {dst: '10.5.8.0', lladdr: '02:00:00:00:00:08', state: ['PERMANENT']}, {dst: 'fe80::2', lladdr: '02:00:00:00:00:02', state: ['STALE']}]),
  fdbJson: JSON.stringify([{mac: '02:00:00:00:00:02', dst: '192.168.1.2', flags: ['self'], state: 'permanent'}, {mac: '02:00:00:00:00:08', dst: '192.168.1.8', flags: ['self'], state: 'permanent'}]),
  deviceRoutesJson: JSON.stringify([{dst: '10.5.2.0/24', gateway: '10.5.2.0', flags: ['onlink']}, {dst: '10.5.8.0/24', gateway: '10.5.8.0', flags: ['onlink']}]),
  underlayRoutesJson: JSON.stringify([{dst: 'default', gateway: '192.168.1.254'}, {dst: '192.168.1.0/24', protocol: 'kernel', scope: 'link'}, {dst: '10.5.7.0/24', gateway: '192.168.1.7'}]),
}

describe('actual state from ip -j / bridge -j', () => {
  it('reads the device, permanent IPv4 neighbours, self fdb entries, device routes and direct routes', () => {
    const actual = parseActual(FIXTURE, {device: 'cnet.1', underlay: 'eth0'}, parseCidr('10.5.0.0/16')!)
    expect(actual.device).toEqual({name: 'cnet.1', isVxlan: true, vni: 1, port: 8472, local: '192.168.1.1', underlay: 'eth0', mac: '02:00:00:00:00:01', mtu: 1450, up: true})
    expect(actual.addresses).toEqual(['10.5.1.0/32'])
    expect(actual.neighs).toHaveLength(2)
    expect(actual.fdbs).toHaveLength(2)
    expect(actual.routes.map((r) => `${r.dst} ${r.dev}`)).toEqual(['10.5.2.0/24 cnet.1', '10.5.8.0/24 cnet.1', '10.5.7.0/24 eth0'])
  })

  it('an absent device means no entries', () => {
    const actual = parseActual({underlayRoutesJson: '[]'}, {device: 'cnet.1', underlay: 'eth0'}, parseCidr('10.5.0.0/16')!)
    expect(actual).toEqual(empty)
  })
})

describe('diff', () => {
  const desired = desiredState(input())

  it('from nothing: create, up, address, then neighbours, fdb, routes in that order', () => {
    const ops = diffState(desired, empty)
    expect(ops.map((o) => o.op)).toEqual(['device-create', 'device-up', 'address-add', 'neigh-replace', 'neigh-replace', 'fdb-replace', 'fdb-replace', 'route-replace', 'route-replace'])
  })

  it('a second run against what the first produced plans nothing', () => {
    expect(diffState(desired, asActual(desired))).toEqual([])
  })

  it('removes entries no lease wants (neighbour, fdb, route order) and adds the missing peer', () => {
    const actual = parseActual(FIXTURE, {device: 'cnet.1', underlay: 'eth0'}, parseCidr('10.5.0.0/16')!)
    const ops = diffState(desired, actual)
    expect(ops).toEqual([
      {op: 'neigh-del', dev: 'cnet.1', ip: '10.5.8.0'},
      {op: 'neigh-replace', dev: 'cnet.1', ip: '10.5.3.0', mac: '02:00:00:00:00:03'},
      {op: 'fdb-del', dev: 'cnet.1', mac: '02:00:00:00:00:08', dst: '192.168.1.8'},
      {op: 'fdb-replace', dev: 'cnet.1', mac: '02:00:00:00:00:03', dst: '192.168.9.3'},
      {op: 'route-del', route: {dst: '10.5.8.0/24', via: '10.5.8.0', dev: 'cnet.1', onlink: true}},
      {op: 'route-del', route: {dst: '10.5.7.0/24', via: '192.168.1.7', dev: 'eth0', onlink: false}},
      {op: 'route-replace', route: {dst: '10.5.3.0/24', via: '10.5.3.0', dev: 'cnet.1', onlink: true}},
    ])
  })

  it('a different MTU or MAC is fixed in place; a different VNI, port or local IP recreates the device', () => {
    const actual = asActual(desired)
    expect(diffState(desired, {...actual, device: {...actual.device!, mtu: 1400}})).toEqual([{op: 'device-set', name: 'cnet.1', mtu: 1450, reason: 'MTU 1400 -> 1450'}])
    expect(diffState(desired, {...actual, device: {...actual.device!, mac: '02:ff:ff:ff:ff:ff', up: false}}).map((o) => o.op)).toEqual(['device-set', 'device-up'])
    for (const change of [{vni: 2}, {port: 4789}, {local: '192.168.1.99'}]) {
      const ops = diffState(desired, {...actual, device: {...actual.device!, ...change}})
      expect(ops.slice(0, 3).map((o) => o.op)).toEqual(['device-delete', 'device-create', 'device-up'])
      // Everything on the old device went with it, so every peer is programmed again.
      expect(ops.filter((o) => o.op === 'route-replace')).toHaveLength(2)
    }
  })

  it('a stray address on the device is removed', () => {
    const actual = asActual(desired)
    expect(diffState(desired, {...actual, addresses: ['10.5.1.0/32', '10.9.9.9/24']})).toEqual([{op: 'address-del', dev: 'cnet.1', address: '10.9.9.9/24'}])
  })

  it('between two desired states (the watch loop) a removed lease yields only its three removals', () => {
    const fewer = desiredState(input(config(), LEASES.filter((l) => l.name !== '10.5.3.0-24')))
    expect(diffEntries('cnet.1', fewer, desired).map((o) => o.op)).toEqual(['neigh-del', 'fdb-del', 'route-del'])
    const moved = desiredState(input(config(), [...LEASES.filter((l) => l.name !== '10.5.3.0-24'), {name: '10.5.3.0-24', value: lease('192.168.9.4', '02:00:00:00:00:03')}]))
    expect(diffEntries('cnet.1', moved, desired)).toEqual([
      {op: 'fdb-del', dev: 'cnet.1', mac: '02:00:00:00:00:03', dst: '192.168.9.3'},
      {op: 'fdb-replace', dev: 'cnet.1', mac: '02:00:00:00:00:03', dst: '192.168.9.4'},
    ])
  })
})

describe('batch text', () => {
  it('groups operations into ip and bridge phases, in order, with the exact commands flannel runs', () => {
    const d: DesiredState = desiredState(input(config(), LEASES.slice(0, 2)))
    const phases = toBatches(diffState(d, empty))
    expect(phases.map((p) => p.tool)).toEqual(['ip', 'bridge', 'ip'])
    expect(batchText(phases[0])).toBe(
      [
        'link add cnet.1 address 02:00:00:00:00:01 mtu 1450 type vxlan id 1 local 192.168.1.1 dev eth0 dstport 8472 nolearning',
        'link set dev cnet.1 up',
        'address add 10.5.1.0/32 dev cnet.1',
        'neigh replace 10.5.3.0 lladdr 02:00:00:00:00:03 dev cnet.1 nud permanent',
      ].join('\n') + '\n',
    )
    expect(phases[1].lines).toEqual(['fdb replace 02:00:00:00:00:03 dev cnet.1 dst 192.168.9.3 self permanent'])
    expect(phases[2].lines).toEqual(['route replace 10.5.3.0/24 via 10.5.3.0 dev cnet.1 onlink'])
  })

  it('removals', () => {
    const phases = toBatches([
      {op: 'neigh-del', dev: 'cnet.1', ip: '10.5.8.0'},
      {op: 'fdb-del', dev: 'cnet.1', mac: '02:00:00:00:00:08', dst: '192.168.1.8'},
      {op: 'route-del', route: {dst: '10.5.8.0/24', via: '10.5.8.0', dev: 'cnet.1', onlink: true}},
    ])
    expect(phases.map((p) => p.lines[0])).toEqual(['neigh del 10.5.8.0 dev cnet.1', 'fdb del 02:00:00:00:00:08 dev cnet.1 dst 192.168.1.8 self', 'route del 10.5.8.0/24 via 10.5.8.0 dev cnet.1'])
  })
})

describe('routes through nexthop objects', () => {
  const withNexthops = (leases = LEASES) => ({...input(config(), leases), nexthops: true})

  it('where the kernel has them, an IPv4 overlay route names its nexthop, whose id is the gateway as a number', () => {
    expect(nexthopIdOf({via: '10.5.2.0', onlink: true})).toBe((10 << 24) + (5 << 16) + (2 << 8))
    const desired = desiredState(withNexthops())
    expect(desired.routes).toEqual([
      {dst: '10.5.2.0/24', via: '10.5.2.0', dev: 'cnet.1', onlink: true, nhid: 168100352},
      {dst: '10.5.3.0/24', via: '10.5.3.0', dev: 'cnet.1', onlink: true, nhid: 168100608},
    ])
    expect(ipLines({op: 'route-replace', route: desired.routes[0]})).toEqual(['nexthop replace id 168100352 via 10.5.2.0 dev cnet.1 onlink', 'route replace 10.5.2.0/24 nhid 168100352'])
    // Without them, as flannel writes it.
    expect(desiredState(input()).routes[0]).toEqual({dst: '10.5.2.0/24', via: '10.5.2.0', dev: 'cnet.1', onlink: true})
  })

  it('IPv6 and underlay routes keep their gateway inline', () => {
    expect(nexthopIdOf({via: 'fd00:0:0:2::', onlink: true})).toBeUndefined()
    expect(nexthopIdOf({via: '192.168.1.9', onlink: false})).toBeUndefined()
    expect(nexthopIdOf({via: '', onlink: true})).toBeUndefined()
    expect(ipLines({op: 'route-replace', route: {dst: '10.5.9.0/24', via: '192.168.1.9', dev: 'eth0', onlink: false}})).toEqual(['route replace 10.5.9.0/24 via 192.168.1.9 dev eth0'])
  })

  it('a route through a nexthop is removed by it: cnet\'s own nexthop goes with it, another\'s stays', () => {
    const route = {dst: '10.5.8.0/24', via: '10.5.8.0', dev: 'cnet.1', onlink: true}
    expect(ipLines({op: 'route-del', route: {...route, nhid: 168101888}})).toEqual(['nexthop del id 168101888'])
    expect(ipLines({op: 'route-del', route: {...route, nhid: 7}})).toEqual(['route del 10.5.8.0/24 nhid 7'])
    expect(ipLines({op: 'route-del', route})).toEqual(['route del 10.5.8.0/24 via 10.5.8.0 dev cnet.1'])
  })

  it('a route with its gateway inline (flannel\'s, an earlier cnet\'s) is written again through its nexthop; one through it is left alone', () => {
    const desired = desiredState(withNexthops())
    const inline = desired.routes.map(({nhid: _, ...route}) => route)
    expect(diffEntries('cnet.1', desired, {neighs: desired.neighs, fdbs: desired.fdbs, routes: inline})).toEqual(desired.routes.map((route) => ({op: 'route-replace', route})))
    expect(diffEntries('cnet.1', desired, {neighs: desired.neighs, fdbs: desired.fdbs, routes: desired.routes})).toEqual([])
    // Read from the kernel, a route through a nexthop shows its gateway and flags too.
    const json = JSON.stringify([{dst: '10.5.2.0/24', nhid: 168100352, gateway: '10.5.2.0', flags: ['onlink']}])
    const actual = parseActual({deviceJson: JSON.stringify([{ifname: 'cnet.1', flags: ['UP'], linkinfo: {info_kind: 'vxlan', info_data: {id: 1}}}]), deviceRoutesJson: json}, {device: 'cnet.1', underlay: 'eth0'}, parseCidr('10.5.0.0/16')!)
    expect(actual.routes).toEqual([desired.routes[0]])
  })

  it('a lease gone takes its nexthop and route in one line; nexthops and routes run beside the fdb batch, after the neighbours', () => {
    const desired = desiredState(withNexthops())
    const fewer = desiredState(withNexthops(LEASES.slice(0, 2)))
    expect(diffEntries('cnet.1', fewer, asActual(desired)).filter((op) => op.op === 'route-del').flatMap(ipLines)).toEqual(['nexthop del id 168100352'])
    const stages = toStages(toBatches(diffState(desired, {...asActual(desired), neighs: [], fdbs: [], routes: []})))
    expect(stages.map((s) => s.map((p) => p.tool).join('+'))).toEqual(['ip+bridge'])
    expect(stages[0][0].lines).toEqual([
      'neigh replace 10.5.2.0 lladdr 02:00:00:00:00:02 dev cnet.1 nud permanent',
      'neigh replace 10.5.3.0 lladdr 02:00:00:00:00:03 dev cnet.1 nud permanent',
      'nexthop replace id 168100352 via 10.5.2.0 dev cnet.1 onlink',
      'route replace 10.5.2.0/24 nhid 168100352',
      'nexthop replace id 168100608 via 10.5.3.0 dev cnet.1 onlink',
      'route replace 10.5.3.0/24 nhid 168100608',
    ])
  })
})

describe('stages', () => {
  it('neighbours before routes in one ip batch beside the fdb batch; after a device change, fdb entries and routes side by side', () => {
    const d = desiredState(input())
    const withDevice = toStages(toBatches(diffState(d, empty)))
    expect(withDevice.map((s) => s.map((p) => p.tool).join('+'))).toEqual(['ip', 'bridge+ip'])
    const entriesOnly = toStages(toBatches(diffState(d, {...asActual(d), neighs: [], fdbs: [], routes: []})))
    expect(entriesOnly.map((s) => s.map((p) => p.tool).join('+'))).toEqual(['ip+bridge'])
    expect(entriesOnly[0][0].lines).toEqual([
      'neigh replace 10.5.2.0 lladdr 02:00:00:00:00:02 dev cnet.1 nud permanent',
      'neigh replace 10.5.3.0 lladdr 02:00:00:00:00:03 dev cnet.1 nud permanent',
      'route replace 10.5.2.0/24 via 10.5.2.0 dev cnet.1 onlink',
      'route replace 10.5.3.0/24 via 10.5.3.0 dev cnet.1 onlink',
    ])
    // Only routes, or only fdb entries: one phase each, alone.
    expect(toStages(toBatches([{op: 'route-replace', route: {dst: '10.5.2.0/24', via: '10.5.2.0', dev: 'cnet.1', onlink: true}}])).map((s) => s.length)).toEqual([1])
  })
})
