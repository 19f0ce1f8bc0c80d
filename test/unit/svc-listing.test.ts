import {describe, expect, it} from '@jest/globals'
import {StoreUnavailableError} from '../../src/lib/errors.js'
import {Keys} from '../../src/store/keys.js'
import {type InstanceRow, compareInKeyOrder, forEachService, listInstances} from '../../src/svc/listing.js'
import {MemoryStore, compactBeforePage} from '../helpers/memory-store.js'

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

/** The same services, two health records to a page as well: every instance but db-b has one (passing for -a, warning for -b). */
async function seededWithHealth(): Promise<MemoryStore> {
  const store = new MemoryStore({pageSize: 2})
  for (const name of SERVICES) {
    for (const id of ['a', 'b']) {
      const registration = {id: `${name}-${id}`, name, namespace: 'default', address: '10.0.0.1', port: 80, protocol: 'tcp', tags: [], meta: {}, weight: 1, node: 'n1', check: {type: 'ttl', ttlMs: 60_000}, registeredAt: 'x'}
      await store.put(keys.service('default', name, registration.id), JSON.stringify(registration))
      // db-b's row must not take its neighbour's record
      if (registration.id !== 'db-b') await store.put(keys.health('default', name, registration.id), JSON.stringify({status: id === 'a' ? 'passing' : 'warning', output: registration.id, since: 's', checkedAt: 'c', prober: 'n1'}))
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

  // Both listings go on side by side: a registration waits only for the health records up to its own key, not for all of them.
  it('hands a service on while the health records are still being listed, each row with its own health or none', async () => {
    const store = await seededWithHealth()
    const handedOn: InstanceRow[][] = []
    const handedOnBeforeHealthPage: number[] = []
    store.beforePage = (prefix) => {
      if (prefix === keys.healthPrefix()) handedOnBeforeHealthPage.push(handedOn.length)
    }
    await forEachService(store, keys, {}, (rows) => handedOn.push(rows))
    expect(handedOn.flat().map((row) => `${row.id}:${row.status}:${row.output}`)).toEqual(
      SERVICES.flatMap((name) => ['a', 'b'].map((id) => (`${name}-${id}` === 'db-b' ? 'db-b:critical:no fresh result (never probed, or its prober is gone)' : `${name}-${id}:${id === 'a' ? 'passing' : 'warning'}:${name}-${id}`))),
    )
    expect(handedOnBeforeHealthPage.at(-1)).toBeGreaterThan(0)
  })

  it('joins each row with its own health value, read when it is joined: one that is not a record leaves its row without health, and text outside ASCII comes through whole', async () => {
    const store = new MemoryStore({pageSize: 2})
    const values: Record<string, string> = {
      'web-a': JSON.stringify({status: 'passing', output: 'ok', since: 's', checkedAt: 'c', prober: 'n1'}),
      'web-b': '{"status": "passing", "output": ',
      'web-c': JSON.stringify({status: 'warning', output: 'überlastet ✓ 負荷', since: 's', checkedAt: 'c', prober: 'n1'}),
      'web-d': JSON.stringify({status: 'sideways'}),
    }
    for (const [id, value] of Object.entries(values)) {
      const registration = {id, name: 'web', namespace: 'default', address: '10.0.0.1', port: 80, check: {type: 'ttl', ttlMs: 60_000}}
      await store.put(keys.service('default', 'web', id), JSON.stringify(registration))
      await store.put(keys.health('default', 'web', id), value)
    }
    const rows = await listInstances(store, keys)
    expect(rows.map((row) => [row.id, row.status, row.output])).toEqual([
      ['web-a', 'passing', 'ok'],
      ['web-b', 'critical', 'no fresh result (never probed, or its prober is gone)'],
      ['web-c', 'warning', 'überlastet ✓ 負荷'],
      ['web-d', 'critical', 'no fresh result (never probed, or its prober is gone)'],
    ])
  })

  // Health is found by walking both sorted listings together: records of gone instances between, and instances without one, must not shift it.
  it('joins each registration with its own record when records of gone instances lie between them and some instances have none', async () => {
    const store = new MemoryStore({pageSize: 2})
    const record = (output: string) => JSON.stringify({status: 'passing', output, since: 's', checkedAt: 'c', prober: 'n1'})
    for (const id of ['b', 'd', 'f', 'h']) await store.put(keys.service('default', 'web', `web-${id}`), JSON.stringify({id: `web-${id}`, name: 'web', namespace: 'default', address: '10.0.0.1', port: 80, check: {type: 'ttl', ttlMs: 60_000}}))
    for (const id of ['a', 'b', 'c', 'e', 'f', 'g', 'i']) await store.put(keys.health('default', 'web', `web-${id}`), record(`web-${id}`))
    // another service's record, first in the health listing ("web-x/" sorts before "web/")
    await store.put(keys.health('default', 'web-x', 'web-x-1'), record('web-x-1'))
    const rows = await listInstances(store, keys)
    expect(rows.map((row) => `${row.id}:${row.status}:${row.status === 'passing' ? row.output : ''}`)).toEqual(['web-b:passing:web-b', 'web-d:critical:', 'web-f:passing:web-f', 'web-h:critical:'])
  })

  // Every part of the health listing asks for what can be joined: a registration page the frontier has not reached is not read again each time.
  it('reads a waiting registration page again only once the health listing has passed where it stopped', async () => {
    const store = new MemoryStore({pageSize: 2})
    for (const id of ['zz-a', 'zz-b']) {
      await store.put(keys.service('default', 'zz', id), JSON.stringify({id, name: 'zz', namespace: 'default', address: '10.0.0.1', port: 80, protocol: 'tcp', tags: [], meta: {}, weight: 1, node: 'n1', check: {type: 'ttl', ttlMs: 60_000}, registeredAt: 'x'}))
      await store.put(keys.health('default', 'zz', id), JSON.stringify({status: 'passing', output: id, since: 's', checkedAt: 'c', prober: 'n1'}))
    }
    // Twenty records of instances whose registrations are gone, all before zz's in key order: ten health pages.
    for (let i = 0; i < 20; i++) await store.put(keys.health('default', `a${String(i).padStart(2, '0')}`, 'x'), JSON.stringify({status: 'passing', output: '', since: 's', checkedAt: 'c', prober: 'n1'}))
    let registrationReads = 0
    const list = store.list.bind(store)
    store.list = (prefix, options = {}) => {
      const onKeyValues = options.onKeyValues
      if (prefix !== keys.servicesPrefix() || !onKeyValues) return list(prefix, options)
      return list(prefix, {
        ...options,
        onKeyValues: (page, first) =>
          onKeyValues(
            {
              forEach: (visit) => (registrationReads++, page.forEach(visit)),
              forEachBytes: (visit, keyOffset) => (registrationReads++, page.forEachBytes(visit, keyOffset)),
            },
            first,
          ),
      })
    }
    const rows = await listInstances(store, keys)
    expect(rows.map((row) => `${row.id}:${row.status}`)).toEqual(['zz-a:passing', 'zz-b:passing'])
    // once when it came (stopped at zz-a), once when the frontier passed zz-a; not once per health page
    expect(registrationReads).toBeLessThanOrEqual(3)
  })

  it('a health listing that starts over between pages: every row once, those not yet joined with the health of the listing that ended', async () => {
    const store = await seededWithHealth()
    const compaction = compactBeforePage(store, 2, (other) => other.put(keys.health('default', 'xds', 'xds-a'), JSON.stringify({status: 'critical', output: 'down', since: 's', checkedAt: 'c', prober: 'n1'})), keys.healthPrefix())
    const rows = await listInstances(store, keys)
    expect(compaction.done).toBe(true)
    expect(rows.map((row) => `${row.id}:${row.status}`)).toEqual(
      SERVICES.flatMap((name) => ['a', 'b'].map((id) => `${name}-${id}:${`${name}-${id}` === 'db-b' || `${name}-${id}` === 'xds-a' ? 'critical' : id === 'a' ? 'passing' : 'warning'}`)),
    )
  })

  it('a listing that starts over after a service was handed on: listInstances drops what it held and gets every row once', async () => {
    const store = await seeded()
    const compaction = compactBeforePage(store, 4, (other) => other.put(keys.service('default', 'zz', 'zz-a'), JSON.stringify({id: 'zz-a', name: 'zz', namespace: 'default', address: '10.0.0.9', port: 80})), keys.servicesPrefix())
    expect(ids(await listInstances(store, keys))).toEqual([...everyRow, 'zz/zz-a:passing'])
    expect(compaction.done).toBe(true)
  })

  it('a listing that starts over after a service was written out fails with exit 4, naming the prefix, when nothing can take it back', async () => {
    const store = await seeded()
    compactBeforePage(store, 4, (other) => other.put('/unrelated', 'x'), keys.servicesPrefix())
    const handedOn: string[][] = []
    const failure = forEachService(store, keys, {}, (rows) => handedOn.push(ids(rows)))
    await expect(failure).rejects.toBeInstanceOf(StoreUnavailableError)
    await expect(failure).rejects.toMatchObject({exitCode: 4, message: expect.stringContaining(`listing of ${keys.servicesPrefix()} started over`)})
    expect(handedOn.flat()).toEqual(everyRow.slice(0, handedOn.flat().length))
    expect(handedOn.length).toBeGreaterThan(0)
  })
})

describe('compareInKeyOrder', () => {
  it('orders as etcd orders keys, by UTF-8 bytes: U+E000 before an emoji, where < says the opposite', () => {
    expect(Math.sign(compareInKeyOrder('default/web/a', 'default/web/b'))).toBe(-1)
    expect(Math.sign(compareInKeyOrder('default/web', 'default/web/a'))).toBe(-1)
    expect(compareInKeyOrder('x', 'x')).toBe(0)
    expect('\u{1F600}' < '\uE000').toBe(true)
    expect(Math.sign(compareInKeyOrder('a\uE000', 'a\u{1F600}'))).toBe(-1)
    expect(Math.sign(compareInKeyOrder('a\u00e9', 'a\u{1F600}'))).toBe(-1)
    expect(Buffer.compare(Buffer.from('a\uE000'), Buffer.from('a\u{1F600}'))).toBe(-1)
  })
})
