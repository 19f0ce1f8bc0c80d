import {beforeEach, describe, expect, it, jest} from '@jest/globals'
import {ConfigError, ConflictError, InvalidValueError} from '../../src/lib/errors.js'
import {silentLogger} from '../../src/lib/log.js'
import {Keys} from '../../src/store/keys.js'
import {listInstances} from '../../src/svc/listing.js'
import type {ServiceRegistration} from '../../src/svc/model.js'
import {effectiveStatus, parseRegistration} from '../../src/svc/model.js'
import {ensureNodeIndex, schemaVersion} from '../../src/svc/node-index.js'
import {type RegisterRequest, planRegistration} from '../../src/svc/registration-plan.js'
import {deregisterDefined, deregisterInstance, registerInstance, registerInstances, setMaintenance} from '../../src/svc/registry.js'
import {healthyOnly, resolveService} from '../../src/svc/resolve.js'
import {showInstance} from '../../src/svc/show.js'
import {updateTtlCheck} from '../../src/svc/ttl-update.js'
import {MemoryStore} from '../helpers/memory-store.js'
import {memoryStorePerTest} from '../helpers/memory-store-per-test.js'

const keys = new Keys()
const now = new Date('2025-01-01T00:00:00Z')
const req = (over: Partial<RegisterRequest> = {}): RegisterRequest => ({name: 'web', id: 'web-1', namespace: 'default', address: '10.0.0.1', port: 80, protocol: 'tcp', tags: [], meta: [], weight: 1, node: 'n1', check: {}, ...over})
const plan = (over: Partial<RegisterRequest> = {}) => planRegistration(req(over), now)
/** The keys under a prefix, in etcd's order. */
const keysUnder = async (store: MemoryStore, prefix = '') => (await store.list(prefix)).items.map((i) => i.key)
const json = async (store: MemoryStore, key: string) => {
  const stored = await store.get(key)
  return stored ? (JSON.parse(stored.value) as unknown) : undefined
}
const newStore = memoryStorePerTest()

describe('registering and deregistering with the per-node index', () => {
  let store: MemoryStore
  beforeEach(() => {
    store = newStore()
  })

  it('writes registration and index entry in one transaction; the same again writes nothing', async () => {
    expect(await registerInstance(store, keys, plan())).toMatchObject({action: 'created', node: 'n1'})
    const registration = await store.get(keys.service('default', 'web', 'web-1'))
    const index = await store.get(keys.nodeIndex('n1', 'default', 'web', 'web-1'))
    expect(index?.value).toBe(registration?.value)
    expect(index?.modRevision).toBe(registration?.modRevision)
    const revision = await store.revision()
    expect(await registerInstance(store, keys, plan())).toMatchObject({action: 'unchanged'})
    expect(await store.revision()).toBe(revision)
  })

  it.each<[string, Partial<RegisterRequest>, string[]]>([
    ['moves the index entry to the new node', {node: 'n2'}, ['/cnet/nodes/n2/default/web/web-1', '/cnet/services/default/web/web-1']],
    ['updates in place on the same node', {tags: ['v2']}, ['/cnet/nodes/n1/default/web/web-1', '/cnet/services/default/web/web-1']],
  ])('re-registering %s', async (_, over, expected) => {
    await registerInstance(store, keys, plan())
    expect(await registerInstance(store, keys, plan(over))).toMatchObject({action: 'updated'})
    expect(await keysUnder(store, '/cnet/')).toEqual(expected)
  })

  it('writes a missing index entry of an otherwise unchanged registration', async () => {
    const {registration} = plan()
    await store.put(keys.service('default', 'web', 'web-1'), JSON.stringify(registration))
    expect(await registerInstance(store, keys, plan())).toMatchObject({action: 'updated'})
    expect(await keysUnder(store, '/cnet/nodes/')).toEqual(['/cnet/nodes/n1/default/web/web-1'])
  })

  it('refuses an id taken by another service before writing any of a batch', async () => {
    await registerInstance(store, keys, plan())
    const before = await keysUnder(store)
    await expect(registerInstances(store, keys, [plan({id: 'web-2'}), plan({name: 'api', id: 'web-1'})])).rejects.toThrow(ConflictError)
    expect(await keysUnder(store)).toEqual(before)
  })

  it('tries again when the registration changed between its read and its write', async () => {
    await registerInstance(store, keys, plan())
    const original = store.transaction.bind(store)
    let raced = false
    store.transaction = async (ops, conditions) => {
      if (!raced && conditions?.length) {
        raced = true
        await store.put(keys.service('default', 'web', 'web-1'), JSON.stringify({...plan().registration, tags: ['theirs']}))
      }
      return original(ops, conditions)
    }
    expect(await registerInstance(store, keys, plan({tags: ['mine']}))).toMatchObject({action: 'updated'})
    expect(await json(store, keys.service('default', 'web', 'web-1'))).toMatchObject({tags: ['mine']})
  })

  it('writes the initial status once, keeps health and maintenance on re-registering', async () => {
    const first = await registerInstance(store, keys, plan({initialStatus: 'passing', check: {tcp: '10.0.0.1:80'}}))
    expect(first).toMatchObject({initialStatus: 'passing', healthKept: false})
    await setMaintenance(store, keys, 'default', 'web-1', {reason: 'r', since: now.toISOString()})
    const again = await registerInstance(store, keys, plan({initialStatus: 'critical', check: {tcp: '10.0.0.1:80'}, tags: ['x']}))
    expect(again).toMatchObject({action: 'updated', healthKept: true, initialStatus: null})
    expect(await json(store, keys.health('default', 'web', 'web-1'))).toMatchObject({status: 'passing'})
    expect(await json(store, keys.nodeIndex('n1', 'default', 'web', 'web-1'))).toMatchObject({maintenance: {reason: 'r'}, tags: ['x']})
  })

  it('with a kept lease: both keys under it, gone with it', async () => {
    const lease = await store.keepLease(10)
    await registerInstance(store, keys, plan(), lease)
    expect((await store.get(keys.nodeIndex('n1', 'default', 'web', 'web-1')))?.lease).toBe(lease.id)
    await lease.stop({revoke: true})
    expect(await keysUnder(store, '/cnet/')).toEqual([])
  })

  it('deregisters registration, index entry and health record together', async () => {
    await registerInstance(store, keys, plan({initialStatus: 'passing', check: {tcp: '10.0.0.1:80'}}))
    expect(await deregisterInstance(store, keys, 'default', 'web-1')).toMatchObject({action: 'removed', healthRemoved: true})
    expect(await keysUnder(store)).toEqual([])
    await expect(deregisterInstance(store, keys, 'default', 'web-1')).rejects.toThrow(ConfigError)
    expect(await deregisterDefined(store, keys, [plan().registration])).toEqual([expect.objectContaining({action: 'absent'})])
  })
})

describe('maintenance', () => {
  it.each<[string, {reason: string} | null, {reason: string} | null, string]>([
    ['enable', null, {reason: 'a'}, 'enabled'],
    ['enable again, same reason', {reason: 'a'}, {reason: 'a'}, 'unchanged'],
    ['enable again, new reason', {reason: 'a'}, {reason: 'b'}, 'updated'],
    ['disable', {reason: 'a'}, null, 'disabled'],
    ['disable when off', null, null, 'unchanged'],
  ])('%s', async (_, before, wanted, action) => {
    const store = newStore()
    await registerInstance(store, keys, plan())
    if (before) await setMaintenance(store, keys, 'default', 'web-1', {...before, since: 'then'})
    const result = await setMaintenance(store, keys, 'default', 'web-1', wanted && {...wanted, since: 'now'})
    expect(result.action).toBe(action)
    const stored = parseRegistration(JSON.stringify(await json(store, keys.service('default', 'web', 'web-1'))))!
    expect(stored.maintenance?.reason ?? null).toBe(wanted?.reason ?? null)
    if (before && wanted) expect(stored.maintenance?.since).toBe('then')
    expect(await json(store, keys.nodeIndex('n1', 'default', 'web', 'web-1'))).toEqual(await json(store, keys.service('default', 'web', 'web-1')))
  })

  it('counts as critical whatever the health says, and is refused for an unknown id', async () => {
    const registration = {...plan().registration, maintenance: {reason: 'r', since: 's'}} as ServiceRegistration
    expect(effectiveStatus(registration, {status: 'passing', output: '', since: '', checkedAt: '', prober: ''})).toBe('critical')
    expect(parseRegistration(JSON.stringify({...registration, maintenance: 'yes'}))).toBeUndefined()
    await expect(setMaintenance(newStore(), keys, 'default', 'nope', null)).rejects.toThrow(ConfigError)
  })
})

describe('listing, show and resolve', () => {
  const seed = async () => {
    const store = newStore()
    await registerInstances(store, keys, [
      plan({id: 'a', tags: ['canary'], node: 'n1'}),
      plan({id: 'b', tags: ['canary', 'v2'], node: 'n2', check: {tcp: '10.0.0.1:80'}, initialStatus: 'warning'}),
      plan({id: 'c', node: 'n2', check: {tcp: '10.0.0.1:80'}}),
    ])
    await setMaintenance(store, keys, 'default', 'a', {reason: 'm', since: 's'})
    return store
  }

  it.each<[string, Parameters<typeof listInstances>[2], string[]]>([
    ['all', {}, ['a', 'b', 'c']],
    ['one tag', {tags: ['canary']}, ['a', 'b']],
    ['every tag given', {tags: ['canary', 'v2']}, ['b']],
    ['a node (read through its index)', {node: 'n2'}, ['b', 'c']],
    ['critical includes maintenance', {status: 'critical'}, ['a', 'c']],
    ['maintenance only', {status: 'maintenance'}, ['a']],
    ['warning', {status: 'warning'}, ['b']],
    ['a service by name', {name: 'web'}, ['a', 'b', 'c']],
    ['a service elsewhere', {namespace: 'other', name: 'web'}, []],
  ])('%s', async (_, filter, ids) => {
    const store = await seed()
    if (filter?.node) await ensureNodeIndex(store, keys, 'test', silentLogger)
    expect((await listInstances(store, keys, filter)).map((r) => r.id)).toEqual(ids)
  })

  it('joins each registration with its health record into one row, as stored or with defaults for what a record lacks', async () => {
    const store = newStore()
    const checked = {type: 'tcp', address: '10.0.0.9:80', intervalMs: 10_000, timeoutMs: 2000, successBeforePassing: 1, failuresBeforeCritical: 1}
    const put = (id: string, registration: object, health?: object) =>
      Promise.all([store.put(keys.service('default', 'web', id), JSON.stringify({id, name: 'web', namespace: 'default', address: `10.0.0.${id.length}`, port: 80, ...registration})), health && store.put(keys.health('default', 'web', id), JSON.stringify(health))])
    // the fields parseRegistration fills in are left out of each registration here
    await put('bare', {})
    await put('fresh', {check: checked, node: 'n1'}, {status: 'passing', output: 'ok', since: 's1', checkedAt: 'c1', prober: 'n1'})
    await put('stale', {check: checked})
    await put('sparse', {check: checked}, {status: 'warning'})
    await put('maint', {check: checked, maintenance: {reason: 'r', since: 's'}}, {status: 'passing', output: 'ok', since: 's1', checkedAt: 'c1', prober: 'n1'})
    await put('unchecked', {}, {status: 'critical', output: 'left over', since: 's', checkedAt: 'c', prober: 'p'})
    const base = {namespace: 'default', name: 'web', port: 80, portName: null, protocol: 'tcp', tags: [], meta: {}, weight: 1, node: '', maintenance: null}
    const rows = await listInstances(store, keys)
    expect(Object.fromEntries(rows.map((r) => [r.id, r]))).toEqual({
      bare: {...base, id: 'bare', address: '10.0.0.4', check: null, status: 'passing', output: 'no check: passing', since: null, checkedAt: null, prober: null},
      fresh: {...base, id: 'fresh', address: '10.0.0.5', node: 'n1', check: 'tcp', status: 'passing', output: 'ok', since: 's1', checkedAt: 'c1', prober: 'n1'},
      stale: {...base, id: 'stale', address: '10.0.0.5', check: 'tcp', status: 'critical', output: 'no fresh result (never probed, or its prober is gone)', since: null, checkedAt: null, prober: null},
      sparse: {...base, id: 'sparse', address: '10.0.0.6', check: 'tcp', status: 'warning', output: '', since: '', checkedAt: '', prober: ''},
      maint: {...base, id: 'maint', address: '10.0.0.5', check: 'tcp', status: 'critical', maintenance: {reason: 'r', since: 's'}, output: 'ok', since: 's1', checkedAt: 'c1', prober: 'n1'},
      unchecked: {...base, id: 'unchecked', address: '10.0.0.9', check: null, status: 'passing', output: 'no check: passing', since: null, checkedAt: null, prober: null},
    })
    // every row has its fields in one order (the JSON output's)
    for (const row of rows) expect(Object.keys(row)).toEqual(Object.keys(rows[0]!))
  })

  it('lists by namespace, name and id, though etcd keeps "web-a/" before "web/"', async () => {
    const store = newStore()
    await registerInstances(store, keys, [plan({name: 'web-a', id: 'x1'}), plan({name: 'web', id: 'y2'}), plan({name: 'web', id: 'y1'}), plan({name: 'web0', id: 'z'})])
    expect((await store.list(keys.servicesPrefix())).items.map((i) => keys.instanceOf(i.key)?.name)).toEqual(['web-a', 'web', 'web', 'web0'])
    expect((await listInstances(store, keys)).map((r) => `${r.name}/${r.id}`)).toEqual(['web/y1', 'web/y2', 'web-a/x1', 'web0/z'])
  })

  it('a node filter without a complete index reads the registrations', async () => {
    const store = await seed()
    expect(await schemaVersion(store, keys)).toBe(1)
    expect((await listInstances(store, keys, {node: 'n1'})).map((r) => r.id)).toEqual(['a'])
  })

  it('show has the registration, health and check; resolve skips maintenance and filters tags', async () => {
    const store = await seed()
    expect(await showInstance(store, keys, 'default', 'b')).toMatchObject({status: 'warning', prober: 'register', checkDefinition: {type: 'tcp'}, lease: null})
    await expect(showInstance(store, keys, 'default', 'zz')).rejects.toThrow(ConfigError)
    const picked = await resolveService(store, keys, {namespace: 'default', name: 'web', strategy: 'random', count: 5, tags: ['canary']})
    expect(picked.map((p) => p.id)).toEqual(['b'])
    await expect(resolveService(store, keys, {namespace: 'default', name: 'web', strategy: 'random', count: 5, tags: ['none']})).rejects.toThrow(/no instance with tag none/)
    expect(healthyOnly([{status: 'warning'}, {status: 'passing'}], true)).toEqual([{status: 'passing'}])
  })

  it('TTL updates need a TTL check', async () => {
    const store = await seed()
    await expect(updateTtlCheck(store, keys, {namespace: 'default', id: 'b', status: 'passing', now})).rejects.toThrow(InvalidValueError)
    await expect(updateTtlCheck(store, keys, {namespace: 'default', id: 'zz', status: 'passing', now})).rejects.toThrow(ConfigError)
    await registerInstance(store, keys, plan({id: 't', check: {ttl: '30s'}}))
    expect(await updateTtlCheck(store, keys, {namespace: 'default', id: 't', status: 'warning', note: 'n', now})).toMatchObject({status: 'warning', output: 'n', ttlSeconds: 30})
  })
})

describe('migrating to the per-node index', () => {
  it('writes each missing entry under the registration\'s lease once, skips changed ones, and records the schema', async () => {
    const store = newStore()
    const lease = await store.grantLease(60)
    const legacy = ['a', 'b', 'c'].map((id) => plan({id, node: id === 'c' ? 'n2' : 'n1'}).registration)
    for (const r of legacy) await store.put(keys.service('default', 'web', r.id), JSON.stringify(r), r.id === 'b' ? {lease} : {})
    await store.put(keys.service('default', 'web', 'junk'), 'not json')
    // An entry another prober already wrote is left alone.
    await store.put(keys.nodeIndex('n1', 'default', 'web', 'a'), 'theirs')
    const result = await ensureNodeIndex(store, keys, 'p1', silentLogger, () => now)
    expect(result).toEqual({ran: true, registrations: 4, written: 2})
    expect((await store.get(keys.nodeIndex('n1', 'default', 'web', 'a')))?.value).toBe('theirs')
    expect((await store.get(keys.nodeIndex('n1', 'default', 'web', 'b')))?.lease).toBe(lease)
    expect(await json(store, keys.schema())).toEqual({version: 2, migratedAt: now.toISOString(), by: 'p1'})
    expect(await ensureNodeIndex(store, keys, 'p2', silentLogger)).toMatchObject({ran: false})
  })

  it('skips a registration whose lease is gone, and stops when etcd is away', async () => {
    const store = newStore()
    const lease = await store.grantLease(60)
    await store.put(keys.service('default', 'web', 'a'), JSON.stringify(plan({id: 'a'}).registration), {lease})
    // The lease ends between the listing and the write of the index entry.
    const list = store.list.bind(store)
    jest.spyOn(store, 'list').mockImplementation(async (...args) => {
      const listing = await list(...args)
      await store.revokeLease(lease)
      return listing
    })
    expect(await ensureNodeIndex(store, keys, 'p1', silentLogger)).toMatchObject({written: 0})
    const away = newStore()
    away.setDown(true)
    await expect(ensureNodeIndex(away, keys, 'p1', silentLogger)).rejects.toThrow(/unreachable/)
    await away.put(keys.schema(), 'x').catch(() => {})
    away.setDown(false)
    await away.put(keys.schema(), '{"version":"2"}')
    expect(await schemaVersion(away, keys)).toBe(1)
  })
})
