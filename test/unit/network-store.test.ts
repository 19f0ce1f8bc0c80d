import {beforeEach, describe, expect, it} from '@jest/globals'
import {ConfigError, ConflictError, InvalidValueError} from '../../src/lib/errors.js'
import {initNetwork, readNetworkConfig} from '../../src/net/network-store.js'
import {Keys} from '../../src/store/keys.js'
import {MemoryStore} from '../helpers/memory-store.js'

const keys = new Keys()
let store: MemoryStore
beforeEach(() => {
  store = new MemoryStore()
})

describe('network init and show against a store', () => {
  it('creates, leaves an identical config alone, and replaces a different one only with force', async () => {
    expect((await initNetwork(store, keys, {Network: '10.5.0.0/16'}, {force: false, source: 'flags'})).action).toBe('created')
    expect((await initNetwork(store, keys, {Network: '10.5.0.0/16'}, {force: false, source: 'flags'})).action).toBe('unchanged')
    await expect(initNetwork(store, keys, {Network: '10.6.0.0/16'}, {force: false, source: 'flags'})).rejects.toThrow(ConflictError)
    expect((await initNetwork(store, keys, {Network: '10.6.0.0/16', Backend: {Type: 'host-gw'}}, {force: true, source: 'flags'})).action).toBe('replaced')
    expect(await readNetworkConfig(store, keys)).toEqual({Network: '10.6.0.0/16', SubnetLen: 24, SubnetMin: '10.6.1.0', SubnetMax: '10.6.255.0', EnableIPv4: true, EnableIPv6: false, Backend: {Type: 'host-gw'}})
  })

  it('refuses, even with force, a config that a lease would fall outside of', async () => {
    await store.put(keys.subnet('10.5.52.0-24'), '{"PublicIP":"192.168.64.3"}')
    await expect(initNetwork(store, keys, {Network: '10.6.0.0/16'}, {force: true, source: 'flags'})).rejects.toThrow(/1 existing lease\(s\) would fall outside the new config \(10\.5\.52\.0\/24\)/)
  })

  it('a bad value typed by the user names its field; a bad file lists every problem', async () => {
    const typed = await initNetwork(store, keys, {Network: '10.5.0.0/16', Backend: {Type: 'vxlan', VNI: 0x1000000}}, {force: false, source: 'flags'}).catch((e: unknown) => e)
    expect(typed).toBeInstanceOf(InvalidValueError)
    expect(typed).toMatchObject({field: 'Backend.VNI'})
    const file = await initNetwork(store, keys, {Network: 'x', Backend: {Type: 'udp'}}, {force: false, source: 'file'}).catch((e: unknown) => e)
    expect(file).toBeInstanceOf(ConfigError)
    expect((file as Error).message).toMatch(/^network init: Backend.Type: "udp" is not supported.*; Network: "x" is not an IPv4 CIDR/)
  })

  it('says where it looked for a missing config and why a stored one is invalid', async () => {
    await expect(readNetworkConfig(store, keys)).rejects.toThrow(/no config at \/coreos\.com\/network\/config/)
    await store.put(keys.networkConfig(), '{"Network":"10.5.0.0/16","SubnetLen":40}')
    await expect(readNetworkConfig(store, keys)).rejects.toThrow(/SubnetLen: 40 is too long/)
  })
})
