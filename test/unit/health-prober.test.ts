import {afterEach, describe, expect, it, jest} from '@jest/globals'
import {HealthWriter, classifyWriteFailure, judgeBatch, takeBatch} from '../../src/health/health-writer.js'
import {execCheck} from '../../src/health/exec-check.js'
import {Prober} from '../../src/health/prober.js'
import {ConfigError, StoreUnavailableError} from '../../src/lib/errors.js'
import {createLogger, silentLogger} from '../../src/lib/log.js'
import {Keys} from '../../src/store/keys.js'
import {planRegistration} from '../../src/svc/registration-plan.js'
import {registerInstance, registerInstances, setMaintenance} from '../../src/svc/registry.js'
import {MemoryStore} from '../helpers/memory-store.js'
import {memoryStorePerTest} from '../helpers/memory-store-per-test.js'

const keys = new Keys()
const until = async (what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
const plan = (id: string, node: string, check: Record<string, unknown> = {exec: 'true', interval: '1s'}, extra = {}) =>
  planRegistration({name: 'web', id, namespace: 'default', address: '10.0.0.1', port: 80, protocol: 'tcp', tags: [], meta: [], weight: 1, node, check, ...extra}, new Date(), {minDeregisterAfterMs: 1000})
/** What is stored under a key, parsed (read through a client of its own, which is never down). */
const json = async (store: MemoryStore, key: string) => {
  const reader = store.connect()
  const stored = await reader.get(key)
  await reader.close()
  return stored ? (JSON.parse(stored.value) as Record<string, unknown>) : undefined
}
const keysUnder = async (store: MemoryStore, prefix: string) => {
  const reader = store.connect()
  const listing = await reader.list(prefix)
  await reader.close()
  return listing.items.map((i) => i.key)
}
/** The next write of the store's client fails with `error`, as etcd refusing one would. */
const failNextWrite = (store: MemoryStore, error: Error) => {
  const methods = ['put', 'create', 'compareAndSwap', 'delete', 'transaction'] as const
  const originals = methods.map((method) => [method, store[method]] as const)
  const restore = () => {
    for (const [method, original] of originals) (store as unknown as Record<string, unknown>)[method] = original
  }
  for (const method of methods) {
    ;(store as unknown as Record<string, unknown>)[method] = async () => {
      restore()
      throw error
    }
  }
}
/**
 * An outage that outlasts etcd's history: while `store` is away another client writes,
 * the history is compacted, and when `store` is back its watches list everything again.
 */
const resyncAfterCompaction = async (store: MemoryStore, write: (other: MemoryStore) => Promise<unknown> = async () => {}) => {
  const other = store.connect()
  store.setDown(true)
  await write(other)
  // etcd keeps the compacted revision itself: one write more, so every missed one is gone.
  await other.put('/unrelated', 'x')
  store.compact()
  store.setDown(false)
  await store.idle()
  await other.close()
}
const newStore = memoryStorePerTest()
const options = {node: 'n1', concurrency: 4, enableExecChecks: true, leaseTtlSeconds: 5, logger: silentLogger, random: () => 0}

describe('the prober against an in-memory store', () => {
  const probers: Prober[] = []
  afterEach(async () => {
    for (const p of probers.splice(0)) await p.stop({revoke: true})
  })
  const start = async (store: MemoryStore, over = {}) => {
    const prober = await Prober.start(store, keys, {...options, ...over})
    probers.push(prober)
    return prober
  }

  it('reads only its node, gets no event for others, follows moves, maintenance and resyncs', async () => {
    const store = newStore()
    await registerInstances(store, keys, [plan('a', 'n1'), plan('b', 'n2'), plan('c', 'n2')])
    const lists = jest.spyOn(store, 'list')
    const prober = await start(store)
    expect(lists.mock.calls.map(([prefix]) => prefix)).toEqual([keys.servicesPrefix(), keys.nodeIndexPrefix('n1')]) // the services once (migration), then its node's index
    expect(prober.stats().instances).toBe(1)
    await until('a passing', async () => (await json(store, keys.health('default', 'web', 'a')))?.status === 'passing')
    await registerInstance(store, keys, plan('b', 'n2', {exec: 'false', interval: '1s'}))
    expect(prober.stats().watchEvents).toBe(0)
    await registerInstance(store, keys, plan('c', 'n1'))
    await until('c tracked', () => prober.stats().instances === 2)
    await setMaintenance(store, keys, 'default', 'c', {reason: 'r', since: 's'})
    await registerInstance(store, keys, plan('a', 'n2'))
    await until('a moved away', () => prober.stats().instances === 1)
    expect(prober.stats().watchEvents).toBe(3)
    // Registered while the prober was away and compacted past: it learns of d from the fresh listing, not from an event.
    await resyncAfterCompaction(store, (other) => registerInstance(other, keys, plan('d', 'n1')))
    expect(prober.stats().instances).toBe(2)
    expect(prober.stats().watchEvents).toBe(3)
  })

  it('starts from the record it finds and takes it over under its own lease', async () => {
    const store = newStore()
    await registerInstance(store, keys, plan('a', 'n1', {exec: "sh -c 'exit 2'", interval: '1s', failuresBeforeCritical: 5}))
    await store.put(keys.health('default', 'web', 'a'), JSON.stringify({status: 'passing', output: 'was fine', since: 'then', checkedAt: 'then', prober: 'old'}))
    const prober = await start(store)
    await until('taken over', async () => (await json(store, keys.health('default', 'web', 'a')))?.prober === 'n1')
    expect(await json(store, keys.health('default', 'web', 'a'))).toMatchObject({status: 'passing', since: 'then'})
    expect(prober.statusCounts().passing).toBe(1)
  })

  it.each([['an active check', {exec: "sh -c 'exit 2'", interval: '1s', deregisterCriticalAfter: '1s'}], ['a TTL check nobody updates', {ttl: '1s', deregisterCriticalAfter: '1s'}]])(
    'deregisters %s critical for too long: registration, index entry and health record',
    async (_, check) => {
      const store = newStore()
      await registerInstance(store, keys, plan('a', 'n1', check))
      await store.put(keys.health('default', 'web', 'a'), JSON.stringify({status: 'critical', output: 'down', since: new Date(Date.now() - 5000).toISOString(), checkedAt: '', prober: 'x'}))
      await start(store)
      await until('deregistered', async () => (await keysUnder(store, '/cnet/services/')).length === 0, 8000)
      await until('all gone', async () => (await keysUnder(store, '/cnet/')).filter((k) => k !== keys.schema()).length === 0)
    },
    15_000,
  )

  it('keeps probing while etcd is away and writes when it is back', async () => {
    const store = newStore()
    await registerInstance(store, keys, plan('a', 'n1'))
    const prober = await start(store)
    store.setDown(true)
    await until('probed while away', () => prober.stats().probes >= 1 && prober.stats().pendingWrites === 1)
    store.setDown(false)
    await until('written', () => prober.stats().pendingWrites === 0, 8000)
    expect(await json(store, keys.health('default', 'web', 'a'))).toMatchObject({status: 'passing'})
  }, 15_000)

  it('ends when etcd refuses its credentials', async () => {
    const store = newStore()
    await registerInstance(store, keys, plan('a', 'n1'))
    const prober = await start(store)
    failNextWrite(store, new ConfigError('store/etcd: permission denied'))
    await expect(prober.failed).rejects.toThrow(/permission denied/)
  })

  it('surfaces an unexpected write error: logged with its stack, counted, retried', async () => {
    const store = newStore()
    const lines: string[] = []
    await registerInstance(store, keys, plan('a', 'n1'))
    const prober = await start(store, {logger: createLogger({level: 'debug', sink: (l) => lines.push(l)}), random: () => 0.5})
    failNextWrite(store, new Error('etcdserver: requested lease not found'))
    await until('written after the error', async () => (await json(store, keys.health('default', 'web', 'a')))?.status === 'passing', 8000)
    expect(prober.stats().errors).toBe(1)
    expect(lines.some((l) => /could not write a health record.*lease not found/.test(l))).toBe(true)
    expect(lines.some((l) => /stack=/.test(l))).toBe(true)
  }, 15_000)
})

describe('the health writer decisions', () => {
  it.each<[unknown, string]>([
    [new StoreUnavailableError('away'), 'unavailable'],
    [new ConfigError('refused'), 'fatal'],
    [new Error('lease not found'), 'error'],
  ])('%p is %s', (error, kind) => {
    expect(classifyWriteFailure(error)).toBe(kind)
  })

  it('takes a bounded batch and judges each outcome', () => {
    const pending = new Map(Array.from({length: 40}, (_, i) => [`k${i}`, i % 2 ? null : 'v'] as [string, string | null]))
    const batch = takeBatch(pending, 32)
    expect(batch).toHaveLength(32)
    const verdict = judgeBatch(batch.slice(0, 2), [{status: 'fulfilled', value: undefined}, {status: 'rejected', reason: new StoreUnavailableError('x')}])
    expect(verdict).toEqual({done: ['k0'], failures: [{key: 'k1', error: expect.any(StoreUnavailableError), kind: 'unavailable'}]})
  })

  it('deletes only a record under its own lease', async () => {
    const store = newStore()
    const writer = await HealthWriter.start(store, 5, {logger: silentLogger})
    const theirs = await store.grantLease(60)
    await store.put('/h/theirs', 'x', {lease: theirs})
    writer.put('/h/mine', 'y')
    await until('written', () => writer.writes === 1)
    writer.remove('/h/mine')
    writer.remove('/h/theirs')
    await until('removed', () => writer.writes === 3)
    expect(await keysUnder(store, '/h/')).toEqual(['/h/theirs'])
    await writer.stop()
  })

  it('writes a record with a required key only while that key exists; a refused write is dropped, not retried', async () => {
    const store = newStore()
    const writer = await HealthWriter.start(store, 5, {logger: silentLogger, policy: {initialMs: 1, maxMs: 1}})
    await store.put('/n/n1/a', 'entry')
    writer.put('/h/a', 'first', '/n/n1/a')
    await until('written', () => writer.writes === 1)
    expect((await store.get('/h/a'))?.value).toBe('first')
    // The instance moves: its entry here goes, the new node's prober writes its own record.
    await store.delete('/n/n1/a')
    await store.put('/h/a', 'new node')
    writer.put('/h/a', 'late result', '/n/n1/a')
    await until('refused', () => writer.dropped === 1)
    await new Promise((r) => setTimeout(r, 50))
    expect({writes: writer.writes, errors: writer.errors, backlog: writer.backlog, dropped: writer.dropped}).toEqual({writes: 1, errors: 0, backlog: 0, dropped: 1})
    expect((await store.get('/h/a'))?.value).toBe('new node')
    await writer.stop()
  })
})

describe('exec checks through the one runner', () => {
  it.each<[string[], number, string, RegExp]>([
    [['sh', '-c', 'echo fine'], 2000, 'passing', /^fine$/],
    [['sh', '-c', 'echo slow >&2; exit 1'], 2000, 'warning', /slow/],
    [['sh', '-c', 'exit 7'], 2000, 'critical', /exit 7/],
    [['sleep', '10'], 200, 'critical', /killed after timeout of 200ms/],
    [['/nonexistent/check'], 2000, 'critical', /exec \/nonexistent\/check: /],
  ])('%j', async (args, timeoutMs, status, output) => {
    const started = Date.now()
    const result = await execCheck(args, timeoutMs)
    expect(result.status).toBe(status)
    expect(result.output).toMatch(output)
    expect(Date.now() - started).toBeLessThan(5000) // a hung check never holds the prober
  })

  it('is cancelled by the stop signal', async () => {
    const controller = new AbortController()
    const running = execCheck(['sleep', '10'], 5000, controller.signal)
    controller.abort()
    expect(await running).toMatchObject({status: 'critical', output: expect.stringMatching(/cancelled/)})
  })
})
