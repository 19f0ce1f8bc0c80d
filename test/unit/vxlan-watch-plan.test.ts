import {describe, expect, it} from '@jest/globals'
import {type Cidr, parseCidr} from '../../src/net/ip.js'
import {formatLeaseAttrs} from '../../src/net/lease.js'
import {type NetworkConfig, parseNetworkConfig, subnetPools} from '../../src/net/network-config.js'
import type {HostView} from '../../src/net/vxlan/host.js'
import type {Peer} from '../../src/net/vxlan/peers.js'
import {type Decision, type WatchModel, emptyModel, modelFromListing, planEvents, recordLeaseChanges, recordProgrammed} from '../../src/net/vxlan/watch-plan.js'
import type {WatchEvent} from '../../src/store/store.js'

const cidr = (text: string): Cidr => parseCidr(text)!

function config(raw: Record<string, unknown> = {}): NetworkConfig {
  const parsed = parseNetworkConfig({Network: '10.5.0.0/16', ...raw})
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems))
  return parsed.config
}

function host(cfg = config()): HostView {
  const families: HostView['families'] = []
  if (cfg.EnableIPv4) families.push({family: 4, subnet: cidr('10.5.1.0/24'), network: cidr('10.5.0.0/16'), publicIp: '192.168.1.1', vtepMac: '02:00:00:00:00:01', deviceName: cfg.Backend.Type === 'vxlan' ? 'cnet.1' : undefined})
  if (cfg.EnableIPv6) families.push({family: 6, subnet: cidr('fd00:0:0:1::/64'), network: cidr('fd00::/48'), publicIp: '2001:db8::1', vtepMac: '02:00:00:00:60:01', deviceName: cfg.Backend.Type === 'vxlan' ? 'cnet-v6.1' : undefined})
  if (cfg.Backend.Type === 'host-gw') for (const f of families) delete f.vtepMac
  const selfName = cfg.EnableIPv4 && cfg.EnableIPv6 ? '10.5.1.0-24&fd00:0:0:1::-64' : cfg.EnableIPv4 ? '10.5.1.0-24' : 'fd00:0:0:1::-64'
  return {
    config: cfg,
    backend: cfg.Backend.Type,
    pools: subnetPools(cfg),
    selfName,
    underlay: {name: 'eth0', mtu: 1500, connected: [cidr('192.168.1.0/24'), cidr('2001:db8::/64')]},
    families,
    skipped: [],
  }
}

const KEYS = '/coreos.com/network/subnets/'
const nameOf = (key: string) => (key.startsWith(KEYS) ? key.slice(KEYS.length) : undefined)
const vxlanLease = (publicIp: string, mac: string, extra: Record<string, unknown> = {}) => formatLeaseAttrs({PublicIP: publicIp, PublicIPv6: null, BackendType: 'vxlan', BackendData: {VNI: 1, VtepMAC: mac}, ...extra})
const put = (name: string, value: string, modRevision: number): WatchEvent => ({type: 'put', key: KEYS + name, value, modRevision, lease: '7'})
const del = (name: string, modRevision: number): WatchEvent => ({type: 'delete', key: KEYS + name, modRevision})

const P2 = vxlanLease('192.168.1.2', '02:00:00:00:00:02')
const P2_MOVED = vxlanLease('192.168.9.2', '02:00:00:00:00:02')
const P3 = vxlanLease('192.168.9.3', '02:00:00:00:00:03')
const peer2: Peer = {name: '10.5.2.0-24', family: 4, subnet: cidr('10.5.2.0/24'), publicIp: '192.168.1.2', vtepMac: '02:00:00:00:00:02'}

/** A model after a listing at revision 10 holding peer 2 (programmed) and our own lease. */
function listed(): WatchModel {
  return modelFromListing(
    {leases: [{name: '10.5.1.0-24', value: vxlanLease('192.168.1.1', '02:00:00:00:00:01'), revision: 4}, {name: '10.5.2.0-24', value: P2, revision: 5}], revision: 10},
    new Map([['10.5.2.0-24', [peer2]]]),
  )
}

const kinds = (decisions: Decision[]) => decisions.map((d) => `${d.kind} ${'lease' in d ? d.lease : d.key}`)

describe('the watch planner', () => {
  it.each<[string, WatchEvent[], {ops: string[]; decisions: string[]; changed: string[]}]>([
    ['a new lease: neighbour, fdb entry, route', [put('10.5.3.0-24', P3, 11)], {ops: ['neigh-replace', 'fdb-replace', 'route-replace'], decisions: ['added 10.5.3.0-24'], changed: ['10.5.3.0-24']}],
    ['a deleted lease: its three entries go', [del('10.5.2.0-24', 11)], {ops: ['neigh-del', 'fdb-del', 'route-del'], decisions: ['removed 10.5.2.0-24'], changed: ['10.5.2.0-24']}],
    ['a moved public IP: only the fdb entry changes', [put('10.5.2.0-24', P2_MOVED, 11)], {ops: ['fdb-del', 'fdb-replace'], decisions: ['updated 10.5.2.0-24'], changed: ['10.5.2.0-24']}],
    ['the same value put again (a renewal): nothing', [put('10.5.2.0-24', P2, 11)], {ops: [], decisions: ['unchanged 10.5.2.0-24'], changed: []}],
    ['an event the listing already holds: stale', [put('10.5.3.0-24', P3, 9)], {ops: [], decisions: ['stale 10.5.3.0-24'], changed: []}],
    ['a duplicate event in one batch: the second is stale', [put('10.5.3.0-24', P3, 11), put('10.5.3.0-24', P3, 11)], {ops: ['neigh-replace', 'fdb-replace', 'route-replace'], decisions: ['stale 10.5.3.0-24', 'added 10.5.3.0-24'], changed: ['10.5.3.0-24']}],
    ['out of order in one batch: a delete, then an older put of the same lease', [del('10.5.2.0-24', 12), put('10.5.2.0-24', P2_MOVED, 11)], {ops: ['neigh-del', 'fdb-del', 'route-del'], decisions: ['stale 10.5.2.0-24', 'removed 10.5.2.0-24'], changed: ['10.5.2.0-24']}],
    ['a put then a delete of a new lease in one batch: nothing to do', [put('10.5.3.0-24', P3, 11), del('10.5.3.0-24', 12)], {ops: [], decisions: ['unchanged 10.5.3.0-24'], changed: []}],
    ['a value that is not a lease: ignored, no peer removed', [put('10.5.3.0-24', '{not json', 11)], {ops: [], decisions: ['ignored 10.5.3.0-24', 'unchanged 10.5.3.0-24'], changed: []}],
    ['a known peer turning into garbage: removed and reported', [put('10.5.2.0-24', '{not json', 11)], {ops: ['neigh-del', 'fdb-del', 'route-del'], decisions: ['ignored 10.5.2.0-24', 'removed 10.5.2.0-24'], changed: ['10.5.2.0-24']}],
    ['a host-gw lease on a vxlan host (flannel: ignored)', [put('10.5.3.0-24', formatLeaseAttrs({PublicIP: '192.168.1.3', PublicIPv6: null, BackendType: 'host-gw'}), 11)], {ops: [], decisions: ['ignored 10.5.3.0-24', 'unchanged 10.5.3.0-24'], changed: []}],
    ['a lease outside the network', [put('10.6.3.0-24', P3, 11)], {ops: [], decisions: ['ignored 10.6.3.0-24', 'unchanged 10.6.3.0-24'], changed: []}],
    ['a key that is not a lease name', [put('junk', P3, 11)], {ops: [], decisions: ['ignored junk', 'unchanged junk'], changed: []}],
    ['our own lease, unchanged', [put('10.5.1.0-24', vxlanLease('192.168.1.1', '02:00:00:00:00:01'), 11)], {ops: [], decisions: ['unchanged 10.5.1.0-24'], changed: []}],
  ])('%s', (_what, events, expected) => {
    const plan = planEvents(host(), listed(), events, nameOf)
    expect(plan.operations.map((o) => o.op)).toEqual(expected.ops)
    expect(kinds(plan.decisions)).toEqual(expected.decisions)
    expect(plan.changedLeases).toEqual(expected.changed)
    expect(plan.reloadHost).toBe(false)
  })

  it('a key outside the subnets prefix is named as not a lease', () => {
    const plan = planEvents(host(), listed(), [{type: 'put', key: '/elsewhere/x', value: '', modRevision: 11, lease: null}], nameOf)
    expect(plan.decisions).toEqual([{kind: 'not-a-lease', key: '/elsewhere/x'}])
    expect(plan.leaseChanges).toEqual([])
  })

  it('our own lease changed or deleted: the host view is read again', () => {
    for (const event of [put('10.5.1.0-24', vxlanLease('192.168.1.1', '02:00:00:00:00:ff'), 11), del('10.5.1.0-24', 11)]) {
      const plan = planEvents(host(), listed(), [event], nameOf)
      expect(plan.reloadHost).toBe(true)
      expect(plan.operations).toEqual([])
      expect(plan.decisions[0]).toMatchObject({kind: 'own-lease', change: event.type})
    }
  })

  it('a delete is remembered: a later, older put of the lease (out of order across batches) is stale', () => {
    const model = listed()
    const first = planEvents(host(), model, [del('10.5.2.0-24', 12)], nameOf)
    recordLeaseChanges(model, first.leaseChanges)
    recordProgrammed(model, first.programmedChanges)
    expect(model.programmed.has('10.5.2.0-24')).toBe(false)
    const late = planEvents(host(), model, [put('10.5.2.0-24', P2, 11)], nameOf)
    expect(late.decisions).toEqual([{kind: 'stale', lease: '10.5.2.0-24', revision: 11, known: 12}])
    expect(late.operations).toEqual([])
    // A newer put after the delete is a new lease again.
    const again = planEvents(host(), model, [put('10.5.2.0-24', P2, 13)], nameOf)
    expect(kinds(again.decisions)).toEqual(['added 10.5.2.0-24'])
  })

  it('planning changes nothing; the lease facts and then (once applied) the programmed view are recorded apart', () => {
    const model = listed()
    const plan = planEvents(host(), model, [put('10.5.3.0-24', P3, 11)], nameOf)
    expect(model.leases.has('10.5.3.0-24')).toBe(false) // the planner only reads
    recordLeaseChanges(model, plan.leaseChanges)
    expect(model.leases.get('10.5.3.0-24')).toEqual({value: P3, revision: 11})
    expect(model.programmed.has('10.5.3.0-24')).toBe(false)
    recordProgrammed(model, plan.programmedChanges)
    expect(model.programmed.get('10.5.3.0-24')).toEqual([expect.objectContaining({publicIp: '192.168.9.3'})])
  })

  it('a lease whose VTEP MAC another peer (or this host) holds is programmed and reported', () => {
    const clash = planEvents(host(), listed(), [put('10.5.3.0-24', vxlanLease('192.168.9.3', '02:00:00:00:00:02'), 11)], nameOf)
    expect(clash.decisions).toContainEqual({kind: 'shared-mac', lease: '10.5.3.0-24', family: 4, mac: '02:00:00:00:00:02', with: ['10.5.2.0-24']})
    const ours = planEvents(host(), listed(), [put('10.5.3.0-24', vxlanLease('192.168.9.3', '02:00:00:00:00:01'), 11)], nameOf)
    expect(ours.decisions).toContainEqual({kind: 'shared-mac', lease: '10.5.3.0-24', family: 4, mac: '02:00:00:00:00:01', with: ['10.5.1.0-24']})
  })

  it('dual stack: one lease gives an IPv4 and an IPv6 peer, their operations merged phase by phase', () => {
    const dual = config({EnableIPv6: true, IPv6Network: 'fd00::/48'})
    const value = formatLeaseAttrs({PublicIP: '192.168.1.2', PublicIPv6: '2001:db8::2', BackendType: 'vxlan', BackendData: {VNI: 1, VtepMAC: '02:00:00:00:00:02'}, BackendV6Data: {VNI: 1, VtepMAC: '02:00:00:00:60:02'}})
    const plan = planEvents(host(dual), emptyModel(), [put('10.5.2.0-24&fd00:0:0:2::-64', value, 3)], nameOf)
    expect(plan.operations).toEqual([
      {op: 'neigh-replace', dev: 'cnet.1', ip: '10.5.2.0', mac: '02:00:00:00:00:02'},
      {op: 'neigh-replace', dev: 'cnet-v6.1', ip: 'fd00:0:0:2::', mac: '02:00:00:00:60:02'},
      {op: 'fdb-replace', dev: 'cnet.1', mac: '02:00:00:00:00:02', dst: '192.168.1.2'},
      {op: 'fdb-replace', dev: 'cnet-v6.1', mac: '02:00:00:00:60:02', dst: '2001:db8::2'},
      {op: 'route-replace', route: {dst: '10.5.2.0/24', via: '10.5.2.0', dev: 'cnet.1', onlink: true}},
      {op: 'route-replace', route: {dst: 'fd00:0:0:2::/64', via: 'fd00:0:0:2::', dev: 'cnet-v6.1', onlink: true}},
    ])
    // Without PublicIPv6 the lease is still an IPv4 peer; its IPv6 half is reported.
    const v4only = formatLeaseAttrs({PublicIP: '192.168.1.3', PublicIPv6: null, BackendType: 'vxlan', BackendData: {VNI: 1, VtepMAC: '02:00:00:00:00:03'}})
    const half = planEvents(host(dual), emptyModel(), [put('10.5.3.0-24&fd00:0:0:3::-64', v4only, 3)], nameOf)
    expect(half.operations.map((o) => ('dev' in o ? o.dev : 'route' in o ? o.route.dev : ''))).toEqual(['cnet.1', 'cnet.1', 'cnet.1'])
    expect(half.decisions).toContainEqual({kind: 'ignored', lease: '10.5.3.0-24&fd00:0:0:3::-64', family: 6, reason: expect.stringContaining('no PublicIPv6')})
  })

  it('host-gw: a route via the peer on the segment; a peer off the segment is refused', () => {
    const gw = config({Backend: {Type: 'host-gw'}})
    const near = formatLeaseAttrs({PublicIP: '192.168.1.2', PublicIPv6: null, BackendType: 'host-gw'})
    const far = formatLeaseAttrs({PublicIP: '192.168.9.3', PublicIPv6: null, BackendType: 'host-gw'})
    const plan = planEvents(host(gw), emptyModel(), [put('10.5.2.0-24', near, 3), put('10.5.3.0-24', far, 4)], nameOf)
    expect(plan.operations).toEqual([{op: 'route-replace', route: {dst: '10.5.2.0/24', via: '192.168.1.2', dev: 'eth0', onlink: false}}])
    expect(plan.decisions).toContainEqual({kind: 'ignored', lease: '10.5.3.0-24', family: 4, reason: expect.stringMatching(/192\.168\.9\.3 is not on eth0's segment \(192\.168\.1\.0\/24\)/)})
    // And a vxlan lease on a host-gw host is ignored (flannel's rule for mixed clusters).
    const mixed = planEvents(host(gw), emptyModel(), [put('10.5.4.0-24', vxlanLease('192.168.1.4', '02:00:00:00:00:04'), 5)], nameOf)
    expect(mixed.decisions[0]).toMatchObject({kind: 'ignored', reason: expect.stringContaining('"vxlan", this host\'s is "host-gw"')})
  })

  it('IPv6 only: IPv6 peers alone', () => {
    const v6 = config({Network: undefined, EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fd00::/48'})
    const value = formatLeaseAttrs({PublicIP: '0.0.0.0', PublicIPv6: '2001:db8::2', BackendType: 'vxlan', BackendV6Data: {VNI: 1, VtepMAC: '02:00:00:00:60:02'}})
    const plan = planEvents(host(v6), emptyModel(), [put('fd00:0:0:2::-64', value, 3)], nameOf)
    expect(plan.operations.map((o) => o.op)).toEqual(['neigh-replace', 'fdb-replace', 'route-replace'])
    expect(plan.operations[1]).toEqual({op: 'fdb-replace', dev: 'cnet-v6.1', mac: '02:00:00:00:60:02', dst: '2001:db8::2'})
  })
})
