import {EventEmitter} from 'node:events'
import {afterEach, beforeEach, describe, expect, it} from '@jest/globals'
import {EtcdStore} from '../../src/store/etcd-store.js'
import {MAX_TRANSACTION_OPS} from '../../src/store/store.js'

/**
 * What EtcdStore asks etcd for, and how it reads the answers, with the etcd3 client's
 * RPC calls (kv.put/range/txn/deleteRange, the lease calls) replaced by recorders: etcd3's
 * own builders still build each request. Behaviour against a real etcd is the contract
 * suite's job (test/integration/store-contract.integration.test.ts).
 */
describe('EtcdStore requests', () => {
  let store: EtcdStore
  let calls: {method: string; request: Record<string, unknown>}[]
  let replies: Record<string, (request: Record<string, unknown>) => unknown>

  const header = {revision: '42'}
  const text = (value: unknown) => (Buffer.isBuffer(value) ? value.toString() : value)

  beforeEach(async () => {
    store = await EtcdStore.open({endpoints: ['http://127.0.0.1:1'], deadlineMs: 500})
    calls = []
    replies = {
      put: () => ({header}),
      range: () => ({header, kvs: [], more: false, count: '0'}),
      txn: () => ({header, succeeded: true, responses: []}),
      deleteRange: () => ({header, deleted: '1'}),
      leaseGrant: () => ({header, ID: '77', TTL: '10'}),
      leaseRevoke: () => ({header}),
      leaseTimeToLive: () => ({header, ID: '77', TTL: '7', grantedTTL: '10'}),
    }
    const record = (target: object, methods: string[]) => {
      for (const method of methods) {
        ;(target as Record<string, unknown>)[method] = async (request: Record<string, unknown>) => {
          calls.push({method, request})
          const reply = replies[method]!(request)
          if (reply instanceof Error) throw reply
          return reply
        }
      }
    }
    record(store.client.kv, ['put', 'range', 'txn', 'deleteRange'])
    record(store.client.leaseClient, ['leaseGrant', 'leaseRevoke', 'leaseTimeToLive'])
  })
  afterEach(async () => {
    await store.close()
  })

  it('put, under a lease, returns the revision', async () => {
    expect(await store.put('/k', 'v', {lease: '77'})).toBe(42)
    expect(calls[0]!.method).toBe('put')
    expect(text(calls[0]!.request.key)).toBe('/k')
    expect(text(calls[0]!.request.value)).toBe('v')
    expect(String(calls[0]!.request.lease)).toBe('77')
  })

  it('get reads the one key and maps it', async () => {
    replies.range = () => ({header, kvs: [{key: Buffer.from('/k'), value: Buffer.from('v'), create_revision: '3', mod_revision: '4', version: '2', lease: '77'}], more: false, count: '1'})
    expect(await store.get('/k')).toEqual({key: '/k', value: 'v', createRevision: 3, modRevision: 4, version: 2, lease: '77'})
    replies.range = () => ({header, kvs: [], more: false, count: '0'})
    expect(await store.get('/k')).toBeNull()
    expect(await store.revision()).toBe(42)
  })

  it.each([
    // etcd's CompareTarget: CREATE 1, MOD 2; CompareResult EQUAL 0.
    ['create: the key must be absent', 0, 1, 'create_revision', 0],
    ['compare-and-swap: the mod revision must still be 9', 9, 2, 'mod_revision', 9],
  ])('%s', async (_what, expected, target, field, value) => {
    replies.txn = () => ({header, succeeded: false, responses: []})
    expect(await store.compareAndSwap('/k', 'v', expected, {lease: '77'})).toBe(false)
    const compare = (calls[0]!.request.compare as Record<string, unknown>[])[0]!
    expect(compare).toMatchObject({target, result: 0})
    expect(Number(compare[field])).toBe(value)
    expect(await store.create('/k', 'v')).toBe(false)
  })

  it('delete, plain or guarded by the mod revision', async () => {
    expect(await store.delete('/k')).toBe(true)
    expect(calls[0]!.method).toBe('deleteRange')
    replies.deleteRange = () => ({header, deleted: '0'})
    expect(await store.delete('/k')).toBe(false)
    expect(await store.delete('/k', {expectedModRevision: 5})).toBe(true)
    expect(calls.at(-1)!.method).toBe('txn')
    replies.deleteRange = () => ({header, deleted: '3'})
    expect(await store.deletePrefix('/p/')).toBe(3)
    expect(text(calls.at(-1)!.request.range_end)).toBe('/p0')
  })

  it('a transaction sends its conditions and operations as one txn', async () => {
    const result = await store.transaction(
      [
        {type: 'put', key: '/a', value: '1', lease: '77'},
        {type: 'delete', key: '/b'},
      ],
      [
        {key: '/a', modRevision: 0},
        {key: '/b', modRevision: 8},
      ],
    )
    expect(result).toEqual({succeeded: true, revision: 42})
    const request = calls[0]!.request as {compare: {target: string}[]; success: Record<string, {key: Buffer; lease?: unknown}>[]}
    expect(request.compare.map((c) => c.target)).toEqual(['Create', 'Mod'])
    expect(request.success.map((op) => Object.keys(op)[0])).toEqual(['request_put', 'request_delete_range'])
    expect(String(request.success[0]!.request_put!.lease)).toBe('77')
    const tooMany = Array.from({length: MAX_TRANSACTION_OPS + 1}, (_, i) => ({type: 'delete' as const, key: `/${i}`}))
    expect(() => store.transaction(tooMany)).toThrow(RangeError)
  })

  it('leases: grant, time to live, revoke (gone already is fine), one keep-alive', async () => {
    expect(await store.grantLease(9.6)).toBe('77')
    expect(calls[0]!.request).toEqual({TTL: 10})
    expect(await store.leaseTimeToLive('77')).toEqual({ttlSeconds: 7, grantedTtlSeconds: 10})
    replies.leaseTimeToLive = () => ({header, ID: '77', TTL: '-1', grantedTTL: '0'})
    expect(await store.leaseTimeToLive('77')).toBeNull()
    await store.revokeLease('77')
    replies.leaseRevoke = () => new Error('etcdserver: requested lease not found')
    await store.revokeLease('77')
    const stream = new EventEmitter() as EventEmitter & {write(request: unknown): void; end(): void}
    stream.write = (request) => setImmediate(() => stream.emit('data', {ID: (request as {ID: string}).ID, TTL: '10'}))
    stream.end = () => {}
    ;(store.client.leaseClient as unknown as {leaseKeepAlive: unknown}).leaseKeepAlive = async () => stream
    expect(await store.keepAliveOnce('77')).toBe(true)
    stream.write = () => setImmediate(() => stream.emit('data', {ID: '77', TTL: '0'}))
    expect(await store.keepAliveOnce('77')).toBe(false)
  })

  it('a call that gets no answer fails at the deadline with exit 4', async () => {
    replies.put = () => new Promise(() => {})
    ;(store.client.kv as unknown as {put: unknown}).put = () => new Promise(() => {})
    await expect(store.put('/k', 'v')).rejects.toMatchObject({exitCode: 4, message: expect.stringContaining('no answer within 500 ms')})
  })

  it('names a credential file it cannot read by its setting', async () => {
    await expect(EtcdStore.open({endpoints: ['https://127.0.0.1:1'], caFile: '/nonexistent/ca.pem'})).rejects.toMatchObject({field: 'etcd-cafile'})
  })
})
