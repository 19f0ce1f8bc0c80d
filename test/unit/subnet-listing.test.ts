import {describe, expect, it} from '@jest/globals'
import {formatLeaseAttrs} from '../../src/net/lease.js'
import {leaseTable, timesToLive} from '../../src/net/subnet-listing.js'
import {describeOperation} from '../../src/net/vxlan/describe.js'
import {sharedMacs} from '../../src/net/vxlan/peers.js'
import {Keys} from '../../src/store/keys.js'
import {MemoryStore, compactBeforePage} from '../helpers/memory-store.js'

const keys = new Keys()
const vxlan = (ip: string, mac: string, v6mac?: string) =>
  formatLeaseAttrs({PublicIP: ip, PublicIPv6: v6mac ? '2001:db8::1' : null, BackendType: 'vxlan', BackendData: {VNI: 1, VtepMAC: mac}, ...(v6mac ? {BackendV6Data: {VNI: 1, VtepMAC: v6mac}} : {})})

describe('subnet list', () => {
  it('with expiry: one time-to-live question per distinct etcd lease; reservations none; a bad key is a row, not an error', async () => {
    const store = new MemoryStore()
    const shared = await store.grantLease(100)
    const own = await store.grantLease(200)
    await store.put(keys.subnet('10.5.1.0-24'), vxlan('192.168.1.1', '02:00:00:00:00:01'), {lease: shared})
    await store.put(keys.subnet('10.5.2.0-24'), vxlan('192.168.1.2', '02:00:00:00:00:02'), {lease: shared})
    await store.put(keys.subnet('10.5.3.0-24'), vxlan('192.168.1.3', '02:00:00:00:00:03'), {lease: own})
    await store.put(keys.subnet('10.5.4.0-24'), vxlan('192.168.1.4', '02:00:00:00:00:04'))
    await store.put(keys.subnet('junk'), 'garbage')
    let questions = 0
    const counted = new Proxy(store, {
      get: (target, property, receiver) => (property === 'leaseTimeToLive' ? (id: string) => (questions++, target.leaseTimeToLive(id)) : Reflect.get(target, property, receiver)),
    })
    const {rows, sharedMacs} = await leaseTable(counted, keys, {expiry: true})
    expect(questions).toBe(2)
    expect(rows.map((r) => [r.subnet, r.expiresInSeconds, r.reserved, r.valid])).toEqual([
      ['10.5.1.0/24', 100, false, true],
      ['10.5.2.0/24', 100, false, true],
      ['10.5.3.0/24', 200, false, true],
      ['10.5.4.0/24', null, true, true],
      ['junk', null, true, false],
    ])
    expect(sharedMacs).toEqual([])

    // Without: no question at all, and no expiresInSeconds key (absent, not null: null is a reservation's).
    const plain = await leaseTable(counted, keys)
    expect(questions).toBe(2)
    expect(plain.rows.map((r) => [r.subnet, r.reserved, r.valid, 'expiresInSeconds' in r])).toEqual([
      ['10.5.1.0/24', false, true, false],
      ['10.5.2.0/24', false, true, false],
      ['10.5.3.0/24', false, true, false],
      ['10.5.4.0/24', true, true, false],
      ['junk', true, false, false],
    ])
  })

  // Without --expiry the rows are made page by page: a listing that starts over must not keep the pages before it.
  it('a listing that starts over between pages gives each lease once, as the rows read with their expiry do', async () => {
    const store = new MemoryStore({pageSize: 2})
    for (let i = 1; i <= 7; i++) await store.put(keys.subnet(`10.5.${i}.0-24`), vxlan(`192.168.1.${i}`, i === 7 ? '02:00:00:00:00:01' : `02:00:00:00:00:0${i}`))
    const compaction = compactBeforePage(store, 3, (other) => other.put(keys.subnet('10.5.8.0-24'), vxlan('192.168.1.8', '02:00:00:00:00:08')))
    const {rows, sharedMacs} = await leaseTable(store, keys)
    expect(compaction.done).toBe(true)
    expect(rows.map((r) => r.subnet)).toEqual(['10.5.1.0/24', '10.5.2.0/24', '10.5.3.0/24', '10.5.4.0/24', '10.5.5.0/24', '10.5.6.0/24', '10.5.7.0/24', '10.5.8.0/24'])
    expect(sharedMacs).toEqual([{family: 4, mac: '02:00:00:00:00:01', leases: ['10.5.1.0-24', '10.5.7.0-24']}])
    const withExpiry = await leaseTable(store, keys, {expiry: true})
    expect(rows).toEqual(withExpiry.rows.map(({expiresInSeconds, ...row}) => (expect(expiresInSeconds).toBeNull(), row)))
  })

  it('names leases that share a VTEP MAC, per family', async () => {
    const store = new MemoryStore()
    await store.put(keys.subnet('10.5.1.0-24'), vxlan('192.168.1.1', '02:00:00:00:00:01', '02:00:00:00:60:01'))
    await store.put(keys.subnet('10.5.2.0-24'), vxlan('192.168.1.2', '02:00:00:00:00:01', '02:00:00:00:00:02'))
    await store.put(keys.subnet('10.5.3.0-24'), vxlan('192.168.1.3', '02:00:00:00:00:03', '02:00:00:00:00:01'))
    const {rows, sharedMacs} = await leaseTable(store, keys)
    // 10.5.3.0's IPv6 MAC equals the others' IPv4 one: different devices, no clash.
    expect(sharedMacs).toEqual([{family: 4, mac: '02:00:00:00:00:01', leases: ['10.5.1.0-24', '10.5.2.0-24']}])
    expect(rows[0]).toMatchObject({vtepMac: '02:00:00:00:00:01', vtepMacV6: '02:00:00:00:60:01'})
  })

  it('names each row by its subnets in canonical form: IPv4, IPv6, and dual stack IPv4 first whatever the key order', async () => {
    const store = new MemoryStore()
    const value = vxlan('192.168.1.1', '02:00:00:00:00:01')
    for (const name of ['10.5.1.0-24', 'fd00:0:0:1::-64', 'fd00:0:0:2::-64&10.5.2.0-24', '10.5.3.0-24&fd00:0:0:3::-64', '10.5.4.1-24']) await store.put(keys.subnet(name), value)
    const {rows} = await leaseTable(store, keys)
    expect(rows.map((r) => [r.subnet, r.valid])).toEqual([
      ['10.5.1.0/24', true],
      ['10.5.3.0/24 fd00:0:0:3::/64', true],
      ['10.5.4.1-24', false],
      ['fd00:0:0:1::/64', true],
      ['10.5.2.0/24 fd00:0:0:2::/64', true],
    ])
  })

  it('sharedMacs: three leases on one MAC, a name given twice counted once, each family apart', () => {
    const mac = '02:00:00:00:00:01'
    expect(
      sharedMacs([
        {name: 'a', family: 4, vtepMac: mac},
        {name: 'a', family: 4, vtepMac: mac},
        {name: 'b', family: 4, vtepMac: mac},
        {name: 'c', family: 4, vtepMac: mac},
        {name: 'a', family: 6, vtepMac: mac},
        {name: 'd', family: 6, vtepMac: '02:00:00:00:00:02'},
        {name: 'e', family: 6},
        {name: 'f', family: 6},
      ]),
    ).toEqual([{family: 4, mac, leases: ['a', 'b', 'c']}])
  })

  it('asks at most the given number of questions at once, and a lease already gone has 0 s left', async () => {
    let inFlight = 0
    let most = 0
    const store = {
      leaseTimeToLive: async (id: string) => {
        most = Math.max(most, ++inFlight)
        await new Promise((resolve) => setTimeout(resolve, 1))
        inFlight--
        return id === 'gone' ? null : {ttlSeconds: Number(id), grantedTtlSeconds: 100}
      },
    } as unknown as MemoryStore
    const ids = [...Array.from({length: 40}, (_, i) => String(i)), 'gone', '3', '3']
    const seconds = await timesToLive(store, ids, 8)
    expect(most).toBe(8)
    expect(seconds.size).toBe(41)
    expect(seconds.get('gone')).toBe(0)
    expect(seconds.get('39')).toBe(39)
  })
})

describe('operations as commands', () => {
  it.each([
    [{op: 'neigh-replace' as const, dev: 'cnet.1', ip: '10.5.2.0', mac: '02:00:00:00:00:02'}, 'ip neigh replace 10.5.2.0 lladdr 02:00:00:00:00:02 dev cnet.1 nud permanent'],
    [{op: 'fdb-del' as const, dev: 'cnet-v6.1', mac: '02:00:00:00:00:02', dst: '2001:db8::2'}, 'bridge fdb del 02:00:00:00:00:02 dev cnet-v6.1 dst 2001:db8::2 self'],
    [{op: 'address-add' as const, dev: 'cnet-v6.1', address: 'fd00:0:0:1::/128'}, 'ip address add fd00:0:0:1::/128 dev cnet-v6.1 nodad'],
    [{op: 'device-set' as const, name: 'cnet.1', mtu: 1450, reason: 'MTU'}, 'ip link set dev cnet.1 mtu 1450'],
  ])('%j', (op, line) => {
    expect(describeOperation(op)).toBe(line)
  })
})
