import {existsSync, mkdtempSync, readFileSync, readdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from '@jest/globals'
import {ConflictError, StoreUnavailableError} from '../../src/lib/errors.js'
import {acquireSubnet} from '../../src/net/subnet-acquire.js'
import {Keys} from '../../src/store/keys.js'
import type {KeptLease, Store} from '../../src/store/store.js'

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
  return {id: '7', ttlSeconds: 60, create, put: async () => {}, putAll: async () => {}, compareAndSwap: async () => false, forget: () => {}, stop: async () => {}}
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
