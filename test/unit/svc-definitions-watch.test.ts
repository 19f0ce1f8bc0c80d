import {describe, expect, it} from '@jest/globals'
import {InvalidValueError} from '../../src/lib/errors.js'
import {silentLogger} from '../../src/lib/log.js'
import {Keys} from '../../src/store/keys.js'
import {parseDefinitions, planDefinitions} from '../../src/svc/definition-file.js'
import {LatestOnlyRunner} from '../../src/svc/handler-runner.js'
import {planRegistration} from '../../src/svc/registration-plan.js'
import {registerInstance, setMaintenance} from '../../src/svc/registry.js'
import {ServiceWatcher, type WatchedSet} from '../../src/svc/watch.js'
import {MemoryStore} from '../helpers/memory-store.js'

const defaults = {namespace: 'default', node: 'n1'}
const now = new Date('2025-01-01T00:00:00Z')
const plans = (document: unknown) => planDefinitions(parseDefinitions(JSON.stringify(document), defaults).definitions, now)

describe('definition files', () => {
  it('reads Consul\'s keys in any case, with its defaults', () => {
    const [web] = plans({Service: {Name: 'web', Address: '10.0.0.1', Port: 80, Weights: {Passing: 3}, Check: {HTTP: 'http://10.0.0.1/', Interval: '20s', TLSSkipVerify: true, DeregisterCriticalServiceAfter: '1m', Notes: 'x'}}})
    expect(web!.registration).toMatchObject({id: 'web', weight: 3, node: 'n1', check: {type: 'http', tlsSkipVerify: true, timeoutMs: 10_000, intervalMs: 20_000, deregisterCriticalAfterMs: 60_000}})
  })

  it('reads cnet\'s own shape with exec or args', () => {
    const result = plans({instances: [{name: 'a', address: '10.0.0.1', port: 1, check: {exec: "check 'x y'", interval: '2s'}}, {name: 'b', namespace: 'ns', address: '10.0.0.2', port: 2, meta: {k: 'v'}, check: {args: ['c', 'd'], headers: {}}}]})
    expect(result.map((p) => p.registration.check)).toMatchObject([{type: 'exec', args: ['check', 'x y'], timeoutMs: 2000}, {type: 'exec', args: ['c', 'd']}])
    expect(result[1]!.registration).toMatchObject({namespace: 'ns', meta: {k: 'v'}})
  })

  it.each<[string, unknown, string]>([
    ['not an object', [], 'file'],
    ['neither format', {foo: 1}, 'file'],
    ['an empty list', {services: []}, 'services'],
    ['services not a list', {services: {}}, 'services'],
    ['an unknown Consul field', {service: {name: 'a', address: '10.0.0.1', port: 1, colour: 'red'}}, 'service.colour'],
    ['an unsupported Consul field', {service: {name: 'a', address: '10.0.0.1', port: 1, connect: {}}}, 'service.connect'],
    ['a wrong type', {service: {name: 'a', address: '10.0.0.1', port: '80'}}, 'service.port'],
    ['a bad weight', {service: {name: 'a', address: '10.0.0.1', port: 1, weights: {passing: 0}}}, 'service.weights.passing'],
    ['an unknown weight', {service: {name: 'a', address: '10.0.0.1', port: 1, weights: {heavy: 1}}}, 'service.weights.heavy'],
    ['a bad header', {service: {name: 'a', address: '10.0.0.1', port: 1, check: {http: 'http://x/', interval: '1s', header: {A: 'b'}}}}, 'service.check.header.A'],
    ['a check status', {services: [{name: 'a', address: '10.0.0.1', port: 1, checks: [{ttl: '10s', status: 'up'}]}]}, 'services[0].checks[0].status'],
    ['check and checks', {service: {name: 'a', address: '10.0.0.1', port: 1, check: {ttl: '1s'}, checks: [{ttl: '1s'}]}}, 'service.check'],
    ['a bad name', {service: {name: 'Web', address: '10.0.0.1', port: 1}}, 'service.name'],
    ['a bad namespace given by flag', {service: {name: 'a', address: '10.0.0.1', port: 1, namespace: 'A'}}, 'service.namespace'],
    ['cnet: unknown field', {instances: [{name: 'a', address: '10.0.0.1', port: 1, weight: 1, colour: 1}]}, 'instances[0].colour'],
    ['cnet: unknown check field', {instances: [{name: 'a', address: '10.0.0.1', port: 1, check: {grpc: 'x'}}]}, 'instances[0].check.grpc'],
    ['cnet: exec and args', {instances: [{name: 'a', address: '10.0.0.1', port: 1, check: {exec: 'x', args: ['x']}}]}, 'instances[0].check.args'],
    ['cnet: empty args', {instances: [{name: 'a', address: '10.0.0.1', port: 1, check: {args: []}}]}, 'instances[0].check.args'],
    ['cnet: a bad port', {instances: [{name: 'a', address: '10.0.0.1', port: 0}]}, 'instances[0].port'],
    ['cnet: something beside instances', {instances: [], extra: 1}, 'extra'],
  ])('%s is refused naming %s', (_, document, field) => {
    let error: unknown
    try {
      plans(document)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InvalidValueError)
    expect((error as InvalidValueError).field).toBe(field)
  })

  it('names a node given on the command line by its own field', () => {
    expect(() => planDefinitions(parseDefinitions(JSON.stringify({service: {name: 'a', address: '10.0.0.1', port: 1}}), {namespace: 'default', node: 'bad node'}).definitions, now)).toThrow(
      expect.objectContaining({field: 'node'}),
    )
    expect(() => parseDefinitions('{', defaults)).toThrow(/not JSON/)
  })
})

describe('svc watch', () => {
  it('runs the newest value after the running one, never two at once', async () => {
    const seen: number[] = []
    let running = 0
    let most = 0
    const runner = new LatestOnlyRunner<number>(async (n) => {
      running++
      most = Math.max(most, running)
      await new Promise((r) => setTimeout(r, 20))
      seen.push(n)
      running--
      if (n === 4) throw new Error('a failing handler does not stop the next')
    })
    for (const n of [1, 2, 3, 4]) runner.submit(n)
    await runner.idle()
    runner.submit(5)
    await runner.idle()
    expect([seen, most]).toEqual([[1, 4, 5], 1])
  })

  it('reports the healthy set at start and after changes, debounced, and replaces what it knew on a resync', async () => {
    // The watcher's client, which goes away; the registrations come from another host's.
    const store = new MemoryStore()
    const admin = store.connect()
    const keys = new Keys()
    /** Away long enough that etcd compacted what was written meanwhile: the watcher lists everything again. */
    const awayPastCompaction = async (meanwhile: () => Promise<unknown>) => {
      store.setDown(true)
      await meanwhile()
      await admin.put('/unrelated', String(Date.now()))
      store.compact()
      store.setDown(false)
      await store.idle()
    }
    const reg = (id: string, extra = {}) => registerInstance(admin, keys, planRegistration({name: 'web', id, namespace: 'default', address: '10.0.0.1', port: 80, protocol: 'tcp', tags: [], meta: [], weight: 1, node: 'n1', check: {}, ...extra}, now))
    await reg('a', {tags: ['t']})
    const sets: WatchedSet[] = []
    const watcher = new ServiceWatcher(store, keys, {filter: {namespace: 'default', name: 'web', tags: ['t']}, debounceMs: 20, logger: silentLogger, onSet: (s) => sets.push(s)})
    store.setDown(true)
    const started = watcher.start(new AbortController().signal)
    await new Promise((r) => setTimeout(r, 50))
    store.setDown(false)
    await started
    expect(sets.map((s) => s.instances.map((i) => i.id))).toEqual([['a']])
    await reg('b', {tags: ['t']})
    await reg('c', {tags: ['t']})
    await reg('d')
    await new Promise((r) => setTimeout(r, 80))
    expect(sets.map((s) => s.instances.map((i) => i.id))).toEqual([['a'], ['a', 'b', 'c']])
    await awayPastCompaction(() => setMaintenance(admin, keys, 'default', 'a', {reason: 'r', since: 's'}))
    await new Promise((r) => setTimeout(r, 80))
    expect(sets.at(-1)!.instances.map((i) => i.id)).toEqual(['b', 'c'])
    const count = sets.length
    await awayPastCompaction(() => admin.put('/unrelated', 'again'))
    await new Promise((r) => setTimeout(r, 80))
    expect(sets).toHaveLength(count) // the same set is not reported twice
    await watcher.stop()
    await admin.close()
    await store.close()
  })
})
