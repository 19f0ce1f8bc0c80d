import {afterEach, describe, expect, it} from '@jest/globals'
import {HealthWriter, classifyWriteFailure, judgeBatch, takeBatch} from '../../src/health/health-writer.js'
import {execCheck} from '../../src/health/exec-check.js'
import {Prober} from '../../src/health/prober.js'
import {ConfigError, StoreUnavailableError} from '../../src/lib/errors.js'
import {createLogger, silentLogger} from '../../src/lib/log.js'
import {Keys} from '../../src/store/keys.js'
import {planRegistration} from '../../src/svc/registration-plan.js'
import {registerInstance, registerInstances, setMaintenance} from '../../src/svc/registry.js'
import {FakeStore} from '../helpers/svc-fake-store.js'

const keys = new Keys()
const until = async (what: string, ok: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
const plan = (id: string, node: string, check: Record<string, unknown> = {exec: 'true', interval: '1s'}, extra = {}) =>
  planRegistration({name: 'web', id, namespace: 'default', address: '10.0.0.1', port: 80, protocol: 'tcp', tags: [], meta: [], weight: 1, node, check, ...extra}, new Date(), {minDeregisterAfterMs: 1000})
const options = {node: 'n1', concurrency: 4, enableExecChecks: true, leaseTtlSeconds: 5, logger: silentLogger, random: () => 0}

describe('the prober against an in-memory store', () => {
  const probers: Prober[] = []
  afterEach(async () => {
    for (const p of probers.splice(0)) await p.stop({revoke: true})
  })
  const start = async (store: FakeStore, over = {}) => {
    const prober = await Prober.start(store, keys, {...options, ...over})
    probers.push(prober)
    return prober
  }

  it('reads only its node, gets no event for others, follows moves, maintenance and resyncs', async () => {
    const store = new FakeStore()
    await registerInstances(store, keys, [plan('a', 'n1'), plan('b', 'n2'), plan('c', 'n2')])
    const prober = await start(store)
    expect(store.calls.list).toBeGreaterThanOrEqual(2) // the services once (migration), then its node's index
    expect(prober.stats().instances).toBe(1)
    await until('a passing', () => (store.json(keys.health('default', 'web', 'a')) as {status?: string} | undefined)?.status === 'passing')
    await registerInstance(store, keys, plan('b', 'n2', {exec: 'false', interval: '1s'}))
    expect(prober.stats().watchEvents).toBe(0)
    await registerInstance(store, keys, plan('c', 'n1'))
    await until('c tracked', () => prober.stats().instances === 2)
    await setMaintenance(store, keys, 'default', 'c', {reason: 'r', since: 's'})
    await registerInstance(store, keys, plan('a', 'n2'))
    await until('a moved away', () => prober.stats().instances === 1)
    expect(prober.stats().watchEvents).toBe(3)
    await store.resync()
    expect(prober.stats().instances).toBe(1)
    expect(prober.statusCounts().passing + prober.statusCounts().critical).toBe(1)
  })

  it('starts from the record it finds and takes it over under its own lease', async () => {
    const store = new FakeStore()
    await registerInstance(store, keys, plan('a', 'n1', {exec: "sh -c 'exit 2'", interval: '1s', failuresBeforeCritical: 5}))
    await store.put(keys.health('default', 'web', 'a'), JSON.stringify({status: 'passing', output: 'was fine', since: 'then', checkedAt: 'then', prober: 'old'}))
    const prober = await start(store)
    await until('taken over', () => (store.json(keys.health('default', 'web', 'a')) as {prober: string}).prober === 'n1')
    expect(store.json(keys.health('default', 'web', 'a'))).toMatchObject({status: 'passing', since: 'then'})
    expect(prober.statusCounts().passing).toBe(1)
  })

  it.each([['an active check', {exec: "sh -c 'exit 2'", interval: '1s', deregisterCriticalAfter: '1s'}], ['a TTL check nobody updates', {ttl: '1s', deregisterCriticalAfter: '1s'}]])(
    'deregisters %s critical for too long: registration, index entry and health record',
    async (_, check) => {
      const store = new FakeStore()
      await registerInstance(store, keys, plan('a', 'n1', check))
      await store.put(keys.health('default', 'web', 'a'), JSON.stringify({status: 'critical', output: 'down', since: new Date(Date.now() - 5000).toISOString(), checkedAt: '', prober: 'x'}))
      await start(store)
      await until('deregistered', () => store.keys('/cnet/services/').length === 0, 8000)
      await until('all gone', () => store.keys('/cnet/').filter((k) => k !== keys.schema()).length === 0)
    },
    15_000,
  )

  it('keeps probing while etcd is away and writes when it is back', async () => {
    const store = new FakeStore()
    await registerInstance(store, keys, plan('a', 'n1'))
    const prober = await start(store)
    store.unavailable = true
    await until('probed while away', () => prober.stats().probes >= 1 && prober.stats().pendingWrites === 1)
    store.unavailable = false
    await until('written', () => prober.stats().pendingWrites === 0, 8000)
    expect(store.json(keys.health('default', 'web', 'a'))).toMatchObject({status: 'passing'})
  }, 15_000)

  it('ends when etcd refuses its credentials', async () => {
    const store = new FakeStore()
    await registerInstance(store, keys, plan('a', 'n1'))
    const prober = await start(store)
    store.failNextWrite = new ConfigError('store/etcd: permission denied')
    await expect(prober.failed).rejects.toThrow(/permission denied/)
  })

  it('surfaces an unexpected write error: logged with its stack, counted, retried', async () => {
    const store = new FakeStore()
    const lines: string[] = []
    await registerInstance(store, keys, plan('a', 'n1'))
    const prober = await start(store, {logger: createLogger({level: 'debug', sink: (l) => lines.push(l)}), random: () => 0.5})
    store.failNextWrite = new Error('etcdserver: requested lease not found')
    await until('written after the error', () => (store.json(keys.health('default', 'web', 'a')) as {status?: string} | undefined)?.status === 'passing', 8000)
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
    const store = new FakeStore()
    const writer = await HealthWriter.start(store, 5, {logger: silentLogger})
    const theirs = await store.grantLease()
    await store.put('/h/theirs', 'x', {lease: theirs})
    writer.put('/h/mine', 'y')
    await until('written', () => writer.writes === 1)
    writer.remove('/h/mine')
    writer.remove('/h/theirs')
    await until('removed', () => writer.writes === 3)
    expect(store.keys('/h/')).toEqual(['/h/theirs'])
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
