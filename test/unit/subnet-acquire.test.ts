import {existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from '@jest/globals'
import {ConflictError, InvalidValueError, StoreUnavailableError} from '../../src/lib/errors.js'
import {acquireSubnet} from '../../src/net/subnet-acquire.js'
import {Keys} from '../../src/store/keys.js'
import type {KeptLease, Store} from '../../src/store/store.js'
import {recordingLogger} from '../helpers/overlay-fixture.js'
import {MemoryStore} from '../helpers/memory-store.js'

const keys = new Keys()
const host = {publicIp: '192.168.64.3', mtu: 1500}

/** A store holding a config and no leases; keepLease as given. */
function fakeStore(keepLease: () => Promise<KeptLease>): Store {
  return {
    endpoints: ['fake'],
    get: async (key: string) => (key === keys.networkConfig() ? {key, value: '{"Network":"10.5.0.0/16"}', createRevision: 1, modRevision: 1, version: 1, lease: null} : null),
    list: async () => ({items: [], revision: 1}),
    keepLease,
  } as unknown as Store
}

function keptLease(create: () => Promise<boolean>): KeptLease {
  return {id: '7', ttlSeconds: 60, create, put: async () => {}, putIfPresent: async () => false, putAll: async () => {}, compareAndSwap: async () => false, forget: () => {}, stop: async () => {}}
}

describe('acquireSubnet writes nothing to disk unless it holds a lease', () => {
  const subnetFile = () => join(mkdtempSync(join(tmpdir(), 'cnet-acquire-')), 'run', 'subnet.env')

  it('when the etcd lease cannot be granted', async () => {
    const file = subnetFile()
    const store = fakeStore(async () => {
      throw new StoreUnavailableError('etcd: no answer')
    })
    await expect(acquireSubnet(store, keys, {host, subnetFile: file, ttlSeconds: 60, ipMasq: false})).rejects.toThrow(StoreUnavailableError)
    expect(existsSync(join(file, '..'))).toBe(false) // not even the directory (so no vtep-mac in it)
  })

  it('when every attempt loses the race', async () => {
    const file = subnetFile()
    let attempts = 0
    const store = fakeStore(async () => keptLease(async () => (attempts++, false)))
    await expect(acquireSubnet(store, keys, {host, subnetFile: file, ttlSeconds: 60, ipMasq: false})).rejects.toThrow(ConflictError)
    expect(attempts).toBe(10)
    expect(existsSync(join(file, '..'))).toBe(false)
  })

  it('and keeps the VTEP MAC beside subnet.env once it does', async () => {
    const file = subnetFile()
    const store = fakeStore(async () => keptLease(async () => true))
    const {result} = await acquireSubnet(store, keys, {host, subnetFile: file, ttlSeconds: 60, ipMasq: false})
    expect(readdirSync(join(file, '..')).sort()).toEqual(['subnet.env', 'subnet.env.vtep-mac'])
    expect(readFileSync(`${file}.vtep-mac`, 'utf8')).toBe(`${result.vtepMac}\n`)
  })
})

describe('acquireSubnet and VTEP MACs', () => {
  const dirOf = () => mkdtempSync(join(tmpdir(), 'cnet-acquire-mac-'))
  async function storeWith(config: Record<string, unknown>, leases: Record<string, Record<string, unknown>> = {}): Promise<MemoryStore> {
    const store = new MemoryStore()
    await store.put(keys.networkConfig(), JSON.stringify(config))
    for (const [name, value] of Object.entries(leases)) await store.put(keys.subnet(name), JSON.stringify(value))
    return store
  }
  const acquire = (store: MemoryStore, subnetFile: string, extra: Partial<Parameters<typeof acquireSubnet>[2]> = {}) =>
    acquireSubnet(store, keys, {host, subnetFile, ttlSeconds: 60, ipMasq: false, ...extra})

  it('keeps one MAC file per subnet file, so two subnet files in one directory get two MACs', async () => {
    const store = await storeWith({Network: '10.5.0.0/16'})
    const dir = dirOf()
    const a = await acquire(store, join(dir, 'a.env'), {host: {publicIp: '192.168.64.3', mtu: 1500}})
    const b = await acquire(store, join(dir, 'b.env'), {host: {publicIp: '192.168.64.4', mtu: 1500}})
    expect(a.result.vtepMac).not.toBe(b.result.vtepMac)
    expect(readdirSync(dir).sort()).toEqual(['a.env', 'a.env.vtep-mac', 'b.env', 'b.env.vtep-mac'])
  })

  it('a kept MAC that another live lease holds is replaced, with a warning', async () => {
    const dir = dirOf()
    const file = join(dir, 'subnet.env')
    writeFileSync(`${file}.vtep-mac`, '02:aa:00:00:00:01\n')
    const store = await storeWith({Network: '10.5.0.0/16'}, {'10.5.9.0-24': {PublicIP: '192.168.64.9', BackendType: 'vxlan', BackendData: {VNI: 1, VtepMAC: '02:aa:00:00:00:01'}}})
    const logger = recordingLogger()
    const {result} = await acquire(store, file, {logger})
    expect(result.vtepMac).not.toBe('02:aa:00:00:00:01')
    expect(readFileSync(`${file}.vtep-mac`, 'utf8')).toBe(`${result.vtepMac}\n`)
    expect(logger.lines).toEqual([{level: 'warn', msg: 'VTEP MAC already held by another lease; using a new one', fields: {family: 'IPv4', mac: '02:aa:00:00:00:01', heldBy: ['10.5.9.0-24'], newMac: result.vtepMac}}])
  })

  it('migrates the old shared vtep-mac file: the first subnet file takes it over, a second one sharing it gets a new MAC', async () => {
    const dir = dirOf()
    writeFileSync(join(dir, 'vtep-mac'), '02:bb:00:00:00:01\n')
    const store = await storeWith({Network: '10.5.0.0/16'})
    const first = await acquire(store, join(dir, 'a.env'), {host: {publicIp: '192.168.64.3', mtu: 1500}})
    expect(first.result.vtepMac).toBe('02:bb:00:00:00:01')
    expect(existsSync(join(dir, 'vtep-mac'))).toBe(false)
    const second = await acquire(store, join(dir, 'b.env'), {host: {publicIp: '192.168.64.4', mtu: 1500}})
    expect(second.result.vtepMac).not.toBe('02:bb:00:00:00:01')
    // Had the second read the shared file before it went, the live lease would still have stopped it:
    writeFileSync(join(dir, 'vtep-mac'), '02:bb:00:00:00:01\n')
    const third = await acquire(store, join(dir, 'c.env'), {host: {publicIp: '192.168.64.5', mtu: 1500}})
    expect(third.result.vtepMac).not.toBe('02:bb:00:00:00:01')
  })

  it('dual stack: each device has its own MAC (BackendData and BackendV6Data), kept in its own file', async () => {
    const dir = dirOf()
    const file = join(dir, 'subnet.env')
    const store = await storeWith({Network: '10.5.0.0/16', EnableIPv6: true, IPv6Network: 'fd00::/48'})
    const {result} = await acquire(store, file, {host: {publicIp: '192.168.64.3', mtu: 1500, ipv6: {kind: 'flag', address: '2001:db8::3'}}})
    expect(result.vtepMacV6).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/)
    expect(result.vtepMacV6).not.toBe(result.vtepMac)
    expect(readFileSync(`${file}.vtep-mac-v6`, 'utf8')).toBe(`${result.vtepMacV6}\n`)
    const value = JSON.parse((await store.get(result.key))!.value)
    expect(value).toMatchObject({PublicIPv6: '2001:db8::3', BackendData: {VtepMAC: result.vtepMac}, BackendV6Data: {VtepMAC: result.vtepMacV6}})
    // subnet.env's MTU fits the IPv6 device (70 bytes of overhead) as well as the IPv4 one.
    expect(readFileSync(file, 'utf8')).toContain('FLANNEL_MTU=1430\n')
  })

  it('host-gw: the lease says host-gw with no BackendData, as flannel writes it, and no MAC is kept', async () => {
    const dir = dirOf()
    const file = join(dir, 'subnet.env')
    const store = await storeWith({Network: '10.5.0.0/16', Backend: {Type: 'host-gw'}})
    const {result} = await acquire(store, file)
    expect(result).toMatchObject({backend: 'host-gw', vtepMac: null})
    expect(JSON.parse((await store.get(result.key))!.value)).toEqual({PublicIP: '192.168.64.3', PublicIPv6: null, BackendType: 'host-gw', HostName: result.hostName})
    expect(readdirSync(dir)).toEqual(['subnet.env'])
    expect(readFileSync(file, 'utf8')).toContain('FLANNEL_MTU=1500\n')
  })

  it('IPv6 only: PublicIP 0.0.0.0 as flannel writes it, no IPv4 address needed, and the lease found again by PublicIPv6', async () => {
    const dir = dirOf()
    const store = await storeWith({EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fd00::/48'})
    const v6host = {mtu: 1500, ipv6: {kind: 'flag' as const, address: '2001:db8::3'}}
    const first = await acquire(store, join(dir, 'a.env'), {host: v6host})
    expect(first.result).toMatchObject({subnet: expect.stringMatching(/^fd00:0:0:[0-9a-f]+::\/64$/), ipv6Subnet: undefined, publicIp: '0.0.0.0', publicIpv6: '2001:db8::3', vtepMac: null, action: 'created'})
    expect(first.result.key).toMatch(/\/fd00:0:0:[0-9a-f]+::-64$/)
    const other = await acquire(store, join(dir, 'b.env'), {host: {...v6host, ipv6: {kind: 'flag', address: '2001:db8::4'}}})
    expect(other.result.key).not.toBe(first.result.key)
    const again = await acquire(store, join(dir, 'c.env'), {host: v6host})
    expect(again.result).toMatchObject({key: first.result.key, action: 'reused', vtepMacV6: first.result.vtepMacV6})
  })

  it('a network with IPv4 and a host without an IPv4 address: the reason, and nothing written', async () => {
    const dir = dirOf()
    const store = await storeWith({Network: '10.5.0.0/16'})
    const missingIpv4 = new InvalidValueError('iface', 'eth1 has no IPv4 address', 'give --public-ip instead')
    await expect(acquire(store, join(dir, 'subnet.env'), {host: {mtu: 1500, missingIpv4}})).rejects.toBe(missingIpv4)
    expect(readdirSync(dir)).toEqual([])
  })
})
