import {describe, expect, it} from '@jest/globals'
import {ServiceIndex} from '../../src/dns/index.js'
import {ListedInstances, Registry, type RegistryChange, emptyChange, healthCode, statusOf, toDnsInstance} from '../../src/dns/registry.js'
import {StoreUnavailableError} from '../../src/lib/errors.js'
import {createLogger} from '../../src/lib/log.js'
import {Keys} from '../../src/store/keys.js'
import type {HealthStatus, ServiceRegistration} from '../../src/svc/model.js'
import {MemoryStore} from '../helpers/memory-store.js'
import {registration} from '../helpers/dns-fixtures.js'

const ttlCheck = {type: 'ttl' as const, ttlMs: 1000}
const ids = (list: readonly {id: string}[] | undefined) => list?.map((i) => i.id)
/** A value as a listing gives it: bytes in the middle of a reply. */
const addValue = (listed: ListedInstances, ident: string, value: string) => {
  const reply = Buffer.from(`<${value}>`)
  listed.add(ident, reply, 1, reply.length - 1)
}

describe('Registry', () => {
  it('keeps only what DNS needs, with the effective status for every health worked out once', () => {
    const instance = toDnsInstance('Prod/Web/A1', registration('A1', 'fd00:0:0::1', {name: 'Web', namespace: 'Prod', tags: ['Canary'], portName: 'HTTP', check: ttlCheck}), 0)
    expect(instance).toMatchObject({ident: 'Prod/Web/A1', service: 'web.prod', namespace: 'prod', id: 'a1', address: 'fd00::1', family: 6, portName: 'http', tags: ['canary']})
    expect([0, 1, 2, 3].map((health) => statusOf({...instance, health: health as 0}))).toEqual([3, 1, 2, 3])
    const unchecked = toDnsInstance('default/web/b', registration('b', '10.0.0.2'), 3)
    expect(statusOf(unchecked)).toBe(1) // no check: passing whatever a stray record says
    expect(unchecked.portName).toBe('tcp')
  })

  type Step = {put?: ServiceRegistration; remove?: string; health?: [string, HealthStatus | undefined]}
  it.each<[string, Step[], {healthy: string[] | undefined; changed: string[]}]>([
    ['a registration joins its service', [{put: registration('a', '10.0.0.1')}], {healthy: ['a'], changed: ['web.default']}],
    ['sorted by id whatever the order they came in', [{put: registration('b', '10.0.0.2')}, {put: registration('a', '10.0.0.1')}], {healthy: ['a', 'b'], changed: ['web.default']}],
    ['a check without a record is critical', [{put: registration('a', '10.0.0.1', {check: ttlCheck})}], {healthy: undefined, changed: ['web.default']}],
    ['health that came first is found by the registration', [{health: ['default/web/a', 'passing']}, {put: registration('a', '10.0.0.1', {check: ttlCheck})}], {healthy: ['a'], changed: ['web.default']}],
    ['a health change moves the instance', [{put: registration('a', '10.0.0.1', {check: ttlCheck})}, {health: ['default/web/a', 'passing']}, {health: ['default/web/a', 'critical']}], {healthy: undefined, changed: ['web.default']}],
    ['a health change that alters nothing changes nothing', [{put: registration('a', '10.0.0.1')}, {health: ['default/web/a', 'critical']}], {healthy: ['a'], changed: []}],
    ['a moved registration leaves its old service', [{put: registration('a', '10.0.0.1')}, {put: registration('a', '10.0.0.1', {name: 'api'})}], {healthy: undefined, changed: ['web.default', 'api.default']}],
    ['a delete keeps the health for a registration put back', [{put: registration('a', '10.0.0.1', {check: ttlCheck})}, {health: ['default/web/a', 'warning']}, {remove: 'default/web/a'}, {put: registration('a', '10.0.0.1', {check: ttlCheck})}], {healthy: ['a'], changed: ['web.default']}],
    ['an instance in maintenance is critical, passing health or not', [{put: registration('a', '10.0.0.1', {maintenance: {reason: 'disk swap', since: ''}})}, {health: ['default/web/a', 'passing']}], {healthy: undefined, changed: []}],
    ['maintenance ended: back in', [{put: registration('a', '10.0.0.1', {maintenance: {reason: 'x', since: ''}})}, {put: registration('a', '10.0.0.1')}], {healthy: ['a'], changed: ['web.default']}],
    ['a deleted health record counts as none', [{put: registration('a', '10.0.0.1', {check: ttlCheck})}, {health: ['default/web/a', 'passing']}, {health: ['default/web/a', undefined]}], {healthy: undefined, changed: ['web.default']}],
  ])('%s', (_label, steps, expected) => {
    const registry = new Registry()
    let change = emptyChange()
    for (const step of steps) {
      change = emptyChange()
      if (step.put) registry.putRegistration(`default/web/${step.put.id}`, step.put, change)
      if (step.remove) registry.putRegistration(step.remove, undefined, change)
      if (step.health) registry.putHealth(step.health[0], step.health[1], change)
    }
    expect(ids(registry.healthy('web.default', false))).toEqual(expected.healthy)
    expect([...change.services]).toEqual(expected.changed)
  })

  it('indexes addresses (PTR) and namespaces, and forgets them with the last instance', () => {
    const registry = new Registry()
    const change = emptyChange()
    registry.putRegistration('default/web/a', registration('a', '10.0.0.1'), change)
    registry.putRegistration('ops/mail/m', registration('m', '10.0.0.1', {name: 'mail', namespace: 'ops'}), change)
    expect(ids(registry.atAddress('10.0.0.1'))?.sort()).toEqual(['a', 'm'])
    expect(registry.hasNamespace('ops')).toBe(true)
    registry.putRegistration('ops/mail/m', undefined, change)
    expect(ids(registry.atAddress('10.0.0.1'))).toEqual(['a'])
    expect(registry.hasNamespace('ops')).toBe(false)
    registry.putRegistration('default/web/a', undefined, change)
    expect(registry.atAddress('10.0.0.1')).toBeUndefined()
    expect(registry.size).toBe(0)
    expect([...change.addresses]).toEqual(['10.0.0.1'])
    expect([...change.namespaces].sort()).toEqual(['default', 'ops'])
  })

  it('keeps every instance at a shared address through puts, moves and deletes', () => {
    const registry = new Registry()
    const change = emptyChange()
    for (const id of ['a', 'b', 'c']) registry.putRegistration(`default/web/${id}`, registration(id, '10.0.0.7'), change)
    expect(ids(registry.atAddress('10.0.0.7'))?.sort()).toEqual(['a', 'b', 'c'])
    registry.putRegistration('default/web/b', registration('b', '10.0.0.8'), change)
    expect(ids(registry.atAddress('10.0.0.7'))?.sort()).toEqual(['a', 'c'])
    expect(ids(registry.atAddress('10.0.0.8'))).toEqual(['b'])
    registry.putRegistration('default/web/a', undefined, change)
    expect(ids(registry.atAddress('10.0.0.7'))).toEqual(['c'])
    registry.putRegistration('default/web/d', registration('d', '10.0.0.7'), change)
    expect(ids(registry.atAddress('10.0.0.7'))?.sort()).toEqual(['c', 'd'])
    registry.putRegistration('default/web/c', undefined, change)
    registry.putRegistration('default/web/d', undefined, change)
    expect(registry.atAddress('10.0.0.7')).toBeUndefined()
  })

  it('warning is healthy unless only passing ones are wanted', () => {
    const registry = new Registry()
    registry.putRegistration('default/web/a', registration('a', '10.0.0.1', {check: ttlCheck}), emptyChange())
    registry.putRegistration('default/web/b', registration('b', '10.0.0.2'), emptyChange())
    registry.putHealth('default/web/a', 'warning', emptyChange())
    expect(ids(registry.healthy('web.default', false))).toEqual(['a', 'b'])
    expect(ids(registry.healthy('web.default', true))).toEqual(['b'])
  })

  it('a listing replaces everything and keeps the health it knew', () => {
    const registry = new Registry()
    registry.putRegistration('default/web/a', registration('a', '10.0.0.1', {check: ttlCheck}), emptyChange())
    registry.putHealth('default/web/a', 'passing', emptyChange())
    registry.putHealth('default/web/z', 'passing', emptyChange())
    const change = emptyChange()
    const listed = new ListedInstances()
    addValue(listed, 'default/web/a', JSON.stringify(registration('a', '10.0.0.1', {check: ttlCheck})))
    addValue(listed, 'default/web/z', JSON.stringify(registration('z', '10.0.0.26', {check: ttlCheck})))
    registry.replaceRegistrations(listed, change)
    expect(change.all).toBe(true)
    expect(ids(registry.healthy('web.default', false))).toEqual(['a', 'z'])
    registry.replaceHealth(new Map([['default/web/z', healthCode('critical')]]), emptyChange())
    expect(registry.healthy('web.default', false)).toBeUndefined()
  })

  // A fleet's first load: the health listing (the smaller prefix) usually ends first, and its map becomes the orphans' whole.
  it('health listed before any registration is joined when the registrations are, and what is left over waits for its own', () => {
    const registry = new Registry()
    const health = new Map([['default/web/a', healthCode('passing')], ['default/web/b', healthCode('critical')], ['default/web/later', healthCode('passing')]])
    registry.replaceHealth(health, emptyChange())
    const listed = new ListedInstances()
    addValue(listed, 'default/web/a', JSON.stringify(registration('a', '10.0.0.1', {check: ttlCheck})))
    addValue(listed, 'default/web/b', JSON.stringify(registration('b', '10.0.0.2', {check: ttlCheck})))
    addValue(listed, 'default/web/c', JSON.stringify(registration('c', '10.0.0.3', {check: ttlCheck})))
    registry.replaceRegistrations(listed, emptyChange())
    expect(ids(registry.healthy('web.default', false))).toEqual(['a'])
    expect(statusOf(registry.get('default/web/b')!)).toBe(3)
    expect(statusOf(registry.get('default/web/c')!)).toBe(3) // a check and no record: critical
    // the record without a registration stayed an orphan, and its registration finds it
    registry.putRegistration('default/web/later', registration('later', '10.0.0.4', {check: ttlCheck}), emptyChange())
    expect(ids(registry.healthy('web.default', false))).toEqual(['a', 'later'])
    // a second health listing with instances present replaces every instance's health
    registry.replaceHealth(new Map([['default/web/c', healthCode('passing')]]), emptyChange())
    expect(ids(registry.healthy('web.default', false))).toEqual(['c'])
  })
})

describe('Registry: a listing parsed when first needed', () => {
  const listing = (entries: [string, string][]) => {
    const listed = new ListedInstances()
    for (const [ident, value] of entries) addValue(listed, ident, value)
    return listed
  }
  const value = (id: string, address: string, overrides: Partial<ServiceRegistration> = {}) => JSON.stringify(registration(id, address, overrides))

  it('parses only the service a query asks for, and the rest when asked to', () => {
    const registry = new Registry()
    const web = (id: string, address: string) => [`default/web/${id}`, value(id, address)] as [string, string]
    registry.replaceRegistrations(listing([web('a', '10.0.0.1'), web('b', '10.0.0.2'), ['prod/api/x', value('x', '10.0.1.1', {name: 'api', namespace: 'prod'})]]), emptyChange())
    expect([registry.parsing, registry.unparsedCount]).toEqual([true, 3])
    expect(ids(registry.healthy('web.default', false))).toEqual(['a', 'b'])
    expect(registry.unparsedCount).toBe(1) // api.prod is still as listed
    expect([registry.hasNamespace('prod'), registry.hasNamespace('default'), registry.hasNamespace('staging')]).toEqual([true, true, false])
    expect(registry.parseSome(50)).toBe(false)
    expect([registry.parsing, registry.unparsedCount, registry.size]).toEqual([false, 0, 3])
    expect(ids(registry.healthy('api.prod', false))).toEqual(['x'])
  })

  it('a reverse lookup finds an instance not parsed yet', () => {
    const registry = new Registry()
    registry.replaceRegistrations(listing([['default/web/a', value('a', '10.0.0.1')]]), emptyChange())
    expect(registry.atAddress('10.0.0.1')?.map((i) => i.ident)).toEqual(['default/web/a'])
    expect(registry.parsing).toBe(false)
  })

  it('health and events that reach an instance not parsed yet are not lost', () => {
    const registry = new Registry()
    registry.replaceRegistrations(listing([['default/web/a', value('a', '10.0.0.1', {check: ttlCheck})], ['default/web/b', value('b', '10.0.0.2')]]), emptyChange())
    // health for an unparsed instance waits for it; nothing was answered from it, so no change
    const healthChange = emptyChange()
    registry.putHealth('default/web/a', 'passing', healthChange)
    expect(healthChange.services.size).toBe(0)
    // a put replaces the listed registration: the old one is parsed first, so its address is told as changed
    const moved = emptyChange()
    registry.putRegistration('default/web/b', registration('b', '10.0.0.9'), moved)
    expect([...moved.addresses].sort()).toEqual(['10.0.0.2', '10.0.0.9'])
    expect(ids(registry.healthy('web.default', false))).toEqual(['a', 'b'])
    expect(registry.atAddress('10.0.0.2')).toBeUndefined()
  })

  it('a value that is not a registration is dropped when parsed; its namespace is gone once parsing reaches it', () => {
    const registry = new Registry()
    const late: RegistryChange[] = []
    registry.onLateChange = (change) => late.push(change)
    registry.replaceRegistrations(listing([['junk/web/a', 'not json'], ['default/web/b', value('b', '10.0.0.2')]]), emptyChange())
    expect(registry.hasNamespace('junk')).toBe(true) // not parsed yet: counted
    expect(registry.healthy('web.junk', false)).toBeUndefined()
    expect([registry.hasNamespace('junk'), registry.size]).toEqual([false, 1])
    // told, so an answer about the namespace cached meanwhile is dropped
    expect(late.map((c) => [[...c.services], [...c.namespaces]])).toEqual([[['web.junk'], ['junk']]])
  })

  it('a registration whose key names another service is told as a change when parsing files it, in the background or for a query', () => {
    const registry = new Registry()
    const late: string[][] = []
    registry.onLateChange = (change) => late.push([...change.services])
    registry.replaceRegistrations(listing([['default/old/a', value('a', '10.0.0.1', {name: 'new'})], ['default/web/b', value('b', '10.0.0.2')]]), emptyChange())
    expect(registry.parseSome(50)).toBe(false)
    expect(late).toEqual([['new.default']]) // the registration filed as it names itself; web.default's own tell nothing
    expect(ids(registry.healthy('new.default', false))).toEqual(['a'])
    // the same when a query for the service its key names parses it
    registry.replaceRegistrations(listing([['default/old/c', value('c', '10.0.0.3', {name: 'new'})]]), emptyChange())
    expect(registry.healthy('old.default', false)).toBeUndefined()
    expect(late).toEqual([['new.default'], ['new.default']])
    expect(ids(registry.healthy('new.default', false))).toEqual(['c'])
  })

  it('a second listing replaces the first, parsed or not, and keeps the health it knew', () => {
    const registry = new Registry()
    registry.replaceHealth(new Map([['default/web/a', healthCode('passing')]]), emptyChange())
    registry.replaceRegistrations(listing([['default/web/a', value('a', '10.0.0.1', {check: ttlCheck})]]), emptyChange())
    expect(ids(registry.healthy('web.default', false))).toEqual(['a'])
    registry.replaceRegistrations(listing([['default/web/a', value('a', '10.0.0.1', {check: ttlCheck})], ['default/web/c', value('c', '10.0.0.3')]]), emptyChange())
    expect(ids(registry.healthy('web.default', false))).toEqual(['a', 'c'])
  })
})

describe('ServiceIndex', () => {
  const keys = new Keys({cnetPrefix: '/t/cnet'})
  const putService = async (store: MemoryStore, r: ServiceRegistration) => {
    await store.put(keys.service(r.namespace, r.name, r.id), JSON.stringify(r))
    await store.idle()
  }
  const putHealth = async (store: MemoryStore, id: string, status: HealthStatus) => {
    await store.put(keys.health('default', 'web', id), JSON.stringify({status}))
    await store.idle()
  }

  it('closed while its first listing is read, it neither warns that etcd is unreachable nor tries again when the listing fails', async () => {
    let failListing: (error: Error) => void = () => {}
    class ClosingStore extends MemoryStore {
      override list(): ReturnType<MemoryStore['list']> {
        return new Promise((_resolve, reject) => (failListing = reject))
      }
    }
    const lines: string[] = []
    const index = new ServiceIndex(new ClosingStore(), keys)
    const started = index.start(createLogger({level: 'debug', format: 'json', sink: (line) => lines.push(line)}))
    await index.close()
    // what closing the store does to a listing in flight
    failListing(new StoreUnavailableError('etcd unreachable at memory://store (the client was already closed)'))
    await started
    expect(lines).toEqual([])
    expect(index.loaded).toBe(false)
  })

  it('lists, then follows events, telling listeners what changed', async () => {
    const store = new MemoryStore({pageSize: 2})
    await putService(store, registration('a', '10.0.0.1', {check: ttlCheck}))
    await putHealth(store, 'a', 'passing')
    await store.put(keys.service('default', 'web', 'junk'), 'not json')
    await store.put('/t/cnet/services/too/deep/a/b', '{}')
    // a field of the wrong type someone else wrote is ignored with its registration; it once stopped the listing
    await store.put(keys.service('default', 'web', 'odd'), JSON.stringify({...registration('odd', '10.0.0.9'), portName: 5}))
    const index = new ServiceIndex(store, keys)
    const changes: RegistryChange[] = []
    index.onChange((change) => changes.push(change))
    expect(index.loaded).toBe(false)
    await index.start()
    expect([index.loaded, index.inSync]).toEqual([true, true])
    expect(ids(index.registry.healthy('web.default', false))).toEqual(['a'])
    expect(changes.map((c) => c.all)).toEqual([true, true])

    await putService(store, registration('b', '10.0.0.2'))
    expect([...changes.at(-1)!.services]).toEqual(['web.default'])
    await putHealth(store, 'a', 'critical')
    expect(ids(index.registry.healthy('web.default', false))).toEqual(['b'])
    const before = changes.length
    await putHealth(store, 'a', 'critical') // nothing new: no one is told
    expect(changes.length).toBe(before)
    await store.delete(keys.service('default', 'web', 'b'))
    await store.idle()
    expect(index.registry.healthy('web.default', false)).toBeUndefined()

    // etcd away, a registration written meanwhile by another host, its revision compacted: a resync
    store.setDown(true)
    expect(index.inSync).toBe(false)
    expect(index.registry.healthy('web.default', false)).toBeUndefined() // keeps what it knew
    const other = store.connect()
    await other.put(keys.service('default', 'web', 'c'), JSON.stringify(registration('c', '10.0.0.3')))
    await other.put('/elsewhere', 'x') // so the compaction takes the registration's revision too
    other.compact()
    store.setDown(false)
    await store.idle()
    expect(index.inSync).toBe(true)
    expect(changes.at(-1)!.all).toBe(true)
    expect(ids(index.registry.healthy('web.default', false))).toEqual(['c'])

    // and again: the second resync's listing replaces the first's, nothing of it kept
    store.setDown(true)
    await other.delete(keys.service('default', 'web', 'c'))
    await other.put(keys.service('default', 'web', 'd'), JSON.stringify(registration('d', '10.0.0.4')))
    await other.put('/elsewhere', 'y')
    other.compact()
    store.setDown(false)
    await store.idle()
    expect(ids(index.registry.healthy('web.default', false))).toEqual(['d'])
    expect([index.registry.size, index.registry.get('default/web/c')]).toEqual([2, undefined]) // a (critical) and d
    await index.close()
  })

  it('parses what no query asked for in the background once the server answers, and not before', async () => {
    const store = new MemoryStore({pageSize: 2})
    for (let i = 0; i < 5; i++) await putService(store, registration(`i${i}`, `10.0.0.${i + 1}`, {name: `svc${i}`}))
    const turns = async () => {
      for (let turn = 0; turn < 100; turn++) await new Promise((resolve) => setImmediate(resolve))
    }
    const index = new ServiceIndex(store, keys)
    await index.start()
    await turns()
    expect(index.registry.unparsedCount).toBe(5) // loaded, not answering yet: nothing parsed
    index.answering()
    await turns()
    expect([index.registry.parsing, index.registry.size]).toEqual([false, 5])
    await index.close()

    // answering before the listing is in (etcd unreachable at start): parsed once it is
    store.setDown(true)
    const late = new ServiceIndex(store, keys)
    const starting = late.start()
    late.answering()
    await starting
    store.setDown(false)
    for (let wait = 0; wait < 100 && !late.loaded; wait++) await new Promise((resolve) => setTimeout(resolve, 20))
    await turns()
    expect([late.loaded, late.registry.parsing, late.registry.size]).toEqual([true, false, 5])
    await late.close()
  })

  it('parses each registration as it is listed when asked to (a worker joining a pool that answers already)', async () => {
    const store = new MemoryStore({pageSize: 2})
    for (let i = 0; i < 3; i++) await putService(store, registration(`i${i}`, `10.0.0.${i + 1}`, {name: `svc${i}`}))
    await store.put(keys.service('default', 'web', 'junk'), 'not json')
    const index = new ServiceIndex(store, keys, {parseLazily: false})
    await index.start()
    expect([index.registry.parsing, index.registry.unparsedCount]).toEqual([false, 0])
    expect([index.registry.size, index.registry.hasNamespace('default')]).toEqual([3, true])
    await index.close()
  })

  it('starts while etcd is unreachable and loads on the retry policy once it answers', async () => {
    const store = new MemoryStore()
    await putService(store, registration('a', '10.0.0.1'))
    store.setDown(true)
    const index = new ServiceIndex(store, keys)
    const logged: string[] = []
    const logger = {level: 'debug', debug: (m: string) => logged.push(m), info: (m: string) => logged.push(m), warn: (m: string) => logged.push(m), error: (m: string) => logged.push(m), child: () => logger} as never
    await index.start(logger)
    expect(index.loaded).toBe(false)
    expect(logged[0]).toMatch(/etcd unreachable at start/)
    store.setDown(false)
    for (let i = 0; i < 100 && !index.loaded; i++) await new Promise((r) => setTimeout(r, 20))
    expect(index.loaded).toBe(true)
    expect(ids(index.registry.healthy('web.default', false))).toEqual(['a'])
    expect(logged).toContain('etcd reachable: serving the zone')
    await index.close()
  })

  it('stops retrying when closed', async () => {
    const store = new MemoryStore()
    store.setDown(true)
    const index = new ServiceIndex(store, keys)
    await index.start()
    await index.close()
    store.setDown(false)
    await new Promise((r) => setTimeout(r, 700))
    expect(index.loaded).toBe(false)
  })
})
