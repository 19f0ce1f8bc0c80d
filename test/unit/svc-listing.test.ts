import {describe, expect, it} from '@jest/globals'
import {StoreUnavailableError} from '../../src/lib/errors.js'
import {Keys} from '../../src/store/keys.js'
import {type InstanceRow, forEachService, listInstances} from '../../src/svc/listing.js'
import {MemoryStore} from '../helpers/memory-store.js'

const keys = new Keys()

const SERVICES = ['api', 'db', 'mq', 'web', 'www', 'xds']

/**
 * Six services of two instances, registrations listed two to a page; only the first
 * service has health records, so the health listing is in long before the registrations.
 */
async function seeded(): Promise<MemoryStore> {
  const store = new MemoryStore({pageSize: 2})
  for (const name of SERVICES) {
    for (const id of ['a', 'b']) {
      const registration = {id: `${name}-${id}`, name, namespace: 'default', address: `10.0.0.${id === 'a' ? 1 : 2}`, port: 80, protocol: 'tcp', tags: [], meta: {}, weight: 1, node: 'n1', check: {type: 'ttl', ttlMs: 60_000}, registeredAt: 'x'}
      await store.put(keys.service('default', name, registration.id), JSON.stringify(registration))
      if (name === 'api') await store.put(keys.health('default', name, registration.id), JSON.stringify({status: 'passing', output: `ok ${name}`, since: 's', checkedAt: 'c', prober: 'n1'}))
    }
  }
  return store
}

const ids = (rows: InstanceRow[]) => rows.map((row) => `${row.name}/${row.id}:${row.status}`)
// a TTL check with no result yet is critical
const everyRow = SERVICES.flatMap((name) => ['a', 'b'].map((id) => `${name}/${name}-${id}:${name === 'api' ? 'passing' : 'critical'}`))

describe('forEachService', () => {
  it('hands each service on while the registrations are still being listed, joined with its health', async () => {
    const store = await seeded()
    const handedOn: string[][] = []
    const servicesBeforePage: number[] = []
    store.beforePage = (prefix) => {
      if (prefix === keys.servicesPrefix()) servicesBeforePage.push(handedOn.length)
    }
    await forEachService(store, keys, {}, (rows) => handedOn.push(ids(rows)))
    expect(handedOn.flat()).toEqual(everyRow)
    expect(handedOn).toHaveLength(SERVICES.length)
    // the last pages of registrations were asked for after services had been handed on
    expect(servicesBeforePage.at(-1)).toBeGreaterThan(0)
  })

  it('a listing that starts over after a service was handed on: listInstances drops what it held and gets every row once', async () => {
    const store = await seeded()
    const other = store.connect()
    let compacted = false
    store.beforePage = async (prefix, page) => {
      if (prefix !== keys.servicesPrefix() || page !== 4 || compacted) return
      compacted = true
      await other.put(keys.service('default', 'zz', 'zz-a'), JSON.stringify({id: 'zz-a', name: 'zz', namespace: 'default', address: '10.0.0.9', port: 80}))
      other.compact()
    }
    expect(ids(await listInstances(store, keys))).toEqual([...everyRow, 'zz/zz-a:passing'])
    expect(compacted).toBe(true)
  })

  it('a listing that starts over after a service was written out fails with exit 4, naming the prefix, when nothing can take it back', async () => {
    const store = await seeded()
    const other = store.connect()
    store.beforePage = async (prefix, page) => {
      if (prefix !== keys.servicesPrefix() || page !== 4) return
      store.beforePage = undefined
      await other.put('/unrelated', 'x')
      other.compact()
    }
    const handedOn: string[][] = []
    const failure = forEachService(store, keys, {}, (rows) => handedOn.push(ids(rows)))
    await expect(failure).rejects.toBeInstanceOf(StoreUnavailableError)
    await expect(failure).rejects.toMatchObject({exitCode: 4, message: expect.stringContaining(`listing of ${keys.servicesPrefix()} started over`)})
    expect(handedOn.flat()).toEqual(everyRow.slice(0, handedOn.flat().length))
    expect(handedOn.length).toBeGreaterThan(0)
  })
})
