import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeEach, describe, expect, it} from '@jest/globals'
import {ConfigError, ConflictError, InvalidValueError} from '../../src/lib/errors.js'
import {formatLeaseAttrs} from '../../src/net/lease.js'
import {releaseLease, reserveSubnet, showLease, subnetFromFile} from '../../src/net/subnet-admin.js'
import {Keys} from '../../src/store/keys.js'
import {MemoryStore} from '../helpers/memory-store.js'

const keys = new Keys()
const dir = mkdtempSync(join(tmpdir(), 'cnet-subnet-admin-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const vxlan = (publicIp: string, mac: string, extra: Record<string, unknown> = {}) => formatLeaseAttrs({PublicIP: publicIp, PublicIPv6: null, BackendType: 'vxlan', BackendData: {VNI: 1, VtepMAC: mac}, HostName: 'h', ...extra})

let store: MemoryStore
async function withConfig(config: Record<string, unknown> = {Network: '10.5.0.0/16'}) {
  store = new MemoryStore()
  await store.put(keys.networkConfig(), JSON.stringify(config))
}
beforeEach(() => withConfig())

describe('subnet show', () => {
  it('shows a lease with its time left; a reservation has none', async () => {
    const lease = await store.grantLease(3600)
    await store.put(keys.subnet('10.5.7.0-24'), vxlan('192.168.1.7', '02:00:00:00:00:07'), {lease})
    await store.put(keys.subnet('10.5.8.0-24'), vxlan('192.168.1.8', '02:00:00:00:00:08'))
    expect(await showLease(store, keys, '10.5.7.0/24')).toEqual({subnet: '10.5.7.0/24', publicIp: '192.168.1.7', publicIpv6: null, vtepMac: '02:00:00:00:00:07', vtepMacV6: null, hostName: 'h', expiresInSeconds: 3600, reserved: false, valid: true, key: keys.subnet('10.5.7.0-24')})
    expect(await showLease(store, keys, '10.5.8.0/24')).toMatchObject({reserved: true, expiresInSeconds: null})
    await expect(showLease(store, keys, '10.5.9.0/24')).rejects.toThrow(ConfigError)
  })

  it.each([
    ['banana', /^subnet: "banana" is not a subnet such as 10\.5\.52\.0\/24/],
    ['fd00::/64', /^subnet: fd00::\/64 is an IPv6 subnet, but the network config does not enable IPv6/],
    ['10.6.1.0/24', /^subnet: 10\.6\.1\.0\/24 is not in the network 10\.5\.0\.0\/16/],
    ['10.5.1.0/25', /^subnet: 10\.5\.1\.0\/25 is not a \/24 subnet on its boundary/],
    ['10.5.1.7/24', /is not a \/24 subnet on its boundary/],
  ])('refuses %s by its field (the CLI names the argument)', async (text, message) => {
    const error = await showLease(store, keys, text).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InvalidValueError)
    expect((error as InvalidValueError).field).toBe('subnet')
    expect((error as Error).message).toMatch(message)
  })
})

describe('subnet release', () => {
  beforeEach(async () => {
    await store.put(keys.subnet('10.5.7.0-24'), vxlan('203.0.113.7', '02:00:00:00:00:07'))
  })

  it.each([
    ['the VTEP MAC kept for its subnet file (leased with a NAT public IP, no default route)', {vtepMacs: ['02:00:00:00:00:07']}],
    ['the public IP given again', {publicIp: '203.0.113.7'}],
    ['an address of this host', {localAddresses: async () => ['127.0.0.1', '203.0.113.7']}],
  ])('finds its own lease by %s', async (_what, owner) => {
    expect(await releaseLease(store, keys, '10.5.7.0/24', owner)).toEqual({subnet: '10.5.7.0/24', key: keys.subnet('10.5.7.0-24'), released: true})
    expect(await store.get(keys.subnet('10.5.7.0-24'))).toBeNull()
  })

  it("refuses another host's lease without --force, and takes it with", async () => {
    const owner = {vtepMacs: ['02:00:00:00:00:99'], publicIp: '192.168.1.1', localAddresses: async () => ['192.168.1.1']}
    await expect(releaseLease(store, keys, '10.5.7.0/24', owner)).rejects.toThrow(ConflictError)
    expect(await store.get(keys.subnet('10.5.7.0-24'))).not.toBeNull()
    expect(await releaseLease(store, keys, '10.5.7.0/24', 'force')).toMatchObject({released: true})
  })

  it('a subnet nobody holds: nothing released, no error', async () => {
    expect(await releaseLease(store, keys, '10.5.9.0/24', {})).toEqual({subnet: '10.5.9.0/24', key: null, released: false})
  })

  it('reads the subnet from the subnet file; a missing or bad file is named', () => {
    const file = join(dir, 'subnet.env')
    writeFileSync(file, 'FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.7.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n')
    expect(subnetFromFile(file)).toBe('10.5.7.0/24')
    expect(() => subnetFromFile(join(dir, 'none.env'))).toThrow(expect.objectContaining({field: 'subnet-file'}))
    writeFileSync(join(dir, 'bad.env'), 'FLANNEL_SUBNET=x\n')
    expect(() => subnetFromFile(join(dir, 'bad.env'))).toThrow(ConfigError)
  })
})

describe('subnet reserve', () => {
  it('pins a free subnet with a new VTEP MAC and no etcd lease', async () => {
    const result = await reserveSubnet(store, keys, '10.5.9.0/24', {publicIp: '192.168.1.9'})
    expect(result).toEqual({subnet: '10.5.9.0/24', ipv6Subnet: undefined, key: keys.subnet('10.5.9.0-24'), publicIp: '192.168.1.9', publicIpv6: undefined})
    const stored = (await store.get(result.key))!
    expect(stored.lease).toBeNull()
    expect(JSON.parse(stored.value)).toMatchObject({PublicIP: '192.168.1.9', BackendType: 'vxlan', BackendData: {VNI: 1, VtepMAC: expect.stringMatching(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/)}})
  })

  it("over the host's own lease it keeps the MAC; another host's is a conflict", async () => {
    await store.put(keys.subnet('10.5.7.0-24'), vxlan('192.168.1.7', '02:00:00:00:00:07'))
    await reserveSubnet(store, keys, '10.5.7.0/24', {publicIp: '192.168.1.7'})
    expect(JSON.parse((await store.get(keys.subnet('10.5.7.0-24')))!.value).BackendData.VtepMAC).toBe('02:00:00:00:00:07')
    await expect(reserveSubnet(store, keys, '10.5.7.0/24', {publicIp: '192.168.1.8'})).rejects.toThrow(ConflictError)
  })

  it('dual stack: pins an IPv6 subnet too, with a MAC of its own for the IPv6 device', async () => {
    await withConfig({Network: '10.5.0.0/16', EnableIPv6: true, IPv6Network: 'fd00::/48'})
    const result = await reserveSubnet(store, keys, '10.5.9.0/24', {publicIp: '192.168.1.9', publicIpv6: '2001:db8::9'})
    expect(result).toMatchObject({subnet: '10.5.9.0/24', ipv6Subnet: 'fd00:0:0:1::/64', publicIpv6: '2001:db8::9'})
    const value = JSON.parse((await store.get(result.key))!.value)
    expect(value.BackendV6Data.VtepMAC).not.toBe(value.BackendData.VtepMAC)
  })

  it('host-gw: the reservation says so and carries no BackendData', async () => {
    await withConfig({Network: '10.5.0.0/16', Backend: {Type: 'host-gw'}})
    const result = await reserveSubnet(store, keys, '10.5.9.0/24', {publicIp: '192.168.1.9'})
    expect((await store.get(result.key))!.value).toBe('{"PublicIP":"192.168.1.9","PublicIPv6":null,"BackendType":"host-gw"}')
  })

  it.each([
    [{publicIp: 'x'}, 'public-ip'],
    [{publicIp: '192.168.1.9', ipv6Subnet: 'fd00::/64'}, 'ipv6-subnet'],
    [{publicIp: '192.168.1.9', publicIpv6: '2001:db8::9'}, 'public-ipv6'],
    [{publicIp: '192.168.1.9', publicIpv6: 'fe80::1'}, 'public-ipv6'],
  ])('refuses %j by the field %s', async (options, field) => {
    await expect(reserveSubnet(store, keys, '10.5.9.0/24', options)).rejects.toMatchObject({field})
  })
})
