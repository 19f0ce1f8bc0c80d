import {afterEach, describe, expect, it} from '@jest/globals'
import {SystemCommandError} from '../../src/lib/errors.js'
import {type WatchSummary, isRetryable, vxlanWatch} from '../../src/net/vxlan/watch.js'
import type {WatchHandlers} from '../../src/store/store.js'
import {OverlayFixture, keys, until} from '../helpers/overlay-fixture.js'

/**
 * The `vxlan up --watch` loop against a store and a kernel in memory: it only feeds
 * the planner, applies and retries, so what is tested here is the feeding and the
 * retrying: start, events, compaction, failures, hangs, outages, stop.
 */
const FAST = {resyncMs: 60_000, retry: {initialMs: 5, maxMs: 20}}

interface Running {
  fixture: OverlayFixture
  stop: AbortController
  done: Promise<WatchSummary>
  changes: {leases: string[]; operations: number}[]
  reconciles: string[]
  failures: {message: string; retryable: boolean}[]
}

const running: Running[] = []
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.stop.abort()
    await r.done.catch(() => {})
    r.fixture.cleanup()
  }
})

function watch(fixture: OverlayFixture, options: Partial<typeof FAST> = {}): Running {
  const r: Running = {fixture, stop: new AbortController(), done: Promise.resolve({} as WatchSummary), changes: [], reconciles: [], failures: []}
  r.done = vxlanWatch(fixture.ctx, fixture.settings(), r.stop.signal, {
    ...FAST,
    ...options,
    observer: {
      changed: (c) => r.changes.push({leases: c.leases, operations: c.operations}),
      reconciled: (c) => r.reconciles.push(c.why),
      failed: (e, retryable) => r.failures.push({message: e.message, retryable}),
    },
  })
  running.push(r)
  return r
}

describe('vxlan up --watch', () => {
  it('reconciles at start, then applies each lease change as it comes, and stops cleanly', async () => {
    const f = new OverlayFixture()
    await f.addPeer(2)
    const r = watch(f)
    await until(() => r.reconciles.length === 1, 2000, 'the first reconcile')
    expect(r.reconciles).toEqual(['start'])
    expect(f.routesOn('cnet.1')).toEqual(['10.5.2.0/24'])
    expect(f.kernel.devices.get('cnet.1')).toMatchObject({up: true, mac: '02:00:00:00:00:01', mtu: 1450, addresses: ['10.5.1.0/32']})

    const p3 = await f.addPeer(3)
    await until(() => r.changes.length === 1, 2000, 'the change')
    expect(r.changes[0]).toEqual({leases: [p3], operations: 3})
    expect(f.routesOn('cnet.1')).toEqual(['10.5.2.0/24', '10.5.3.0/24'])

    await f.removePeer(p3)
    await until(() => r.changes.length === 2)
    expect(f.routesOn('cnet.1')).toEqual(['10.5.2.0/24'])
    expect(f.kernel.devices.get('cnet.1')!.neighs.map((n) => n.ip)).toEqual(['10.5.2.0'])

    r.stop.abort()
    expect(await r.done).toEqual({resyncs: 1, changes: 2, failures: 0})
    expect(f.logger.lines.filter((l) => l.msg === 'leases changed')).toHaveLength(2)
  })

  it('where the kernel has nexthop objects, a lease put and a lease gone write and remove its route through its nexthop', async () => {
    const f = new OverlayFixture()
    f.kernel.hasNexthops = true
    await f.addPeer(2)
    const r = watch(f)
    await until(() => r.reconciles.length === 1, 2000, 'the first reconcile')
    const p3 = await f.addPeer(3)
    await until(() => r.changes.length === 1, 2000, 'the put')
    const route3 = {dst: '10.5.3.0/24', via: '10.5.3.0', dev: 'cnet.1', onlink: true, nhid: 168100608}
    expect(f.kernel.applied.filter((op) => op.op.startsWith('route')).slice(-1)).toEqual([{op: 'route-replace', route: route3}])
    await f.removePeer(p3)
    await until(() => r.changes.length === 2, 2000, 'the delete')
    // Deleted by its nexthop: `nexthop del id 168100608`, one line.
    expect(f.kernel.applied.filter((op) => op.op.startsWith('route')).slice(-1)).toEqual([{op: 'route-del', route: route3}])
    expect(f.routesOn('cnet.1')).toEqual(['10.5.2.0/24'])
  })

  it('duplicate and out-of-order events from the stream change nothing', async () => {
    const f = new OverlayFixture()
    const p2 = await f.addPeer(2)
    // The handlers the loop gives the store, to hand them what a flaky stream might.
    let handlers: WatchHandlers | undefined
    const watchPrefix = f.store.watchPrefix.bind(f.store)
    f.store.watchPrefix = (prefix, from, h) => ((handlers = h), watchPrefix(prefix, from, h))
    const r = watch(f)
    await until(() => r.reconciles.length === 1)
    const applied = f.kernel.count('apply')
    const stored = (await f.store.get(keys.subnet(p2)))!
    // The put the listing already held, again, then an older delete of the same lease.
    await handlers!.onEvents(
      [
        {type: 'put', key: stored.key, value: stored.value, modRevision: stored.modRevision, lease: null},
        {type: 'delete', key: stored.key, modRevision: stored.modRevision - 1},
      ],
      stored.modRevision,
    )
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(f.kernel.count('apply')).toBe(applied)
    expect(f.routesOn('cnet.1')).toEqual(['10.5.2.0/24'])
  })

  it('a resync after compaction removes what was deleted meanwhile and adds what was put', async () => {
    const f = new OverlayFixture()
    const p2 = await f.addPeer(2)
    const r = watch(f)
    await until(() => r.reconciles.length === 1)
    // While this host could not reach etcd, another host's client changed the leases
    // (peer 2 went, peer 5 came) and the history was compacted.
    f.store.setDown(true)
    const other = f.store.connect()
    await other.delete(keys.subnet(p2))
    await other.put(keys.subnet('10.5.5.0-24'), JSON.stringify({PublicIP: '192.168.1.5', PublicIPv6: null, BackendType: 'vxlan', BackendData: {VNI: 1, VtepMAC: '02:00:00:00:00:05'}}))
    other.compact()
    expect(f.routesOn('cnet.1')).toEqual(['10.5.2.0/24'])
    f.store.setDown(false)
    await until(() => r.reconciles.length === 2)
    expect(r.reconciles).toEqual(['start', 'watch resynced'])
    expect(f.routesOn('cnet.1')).toEqual(['10.5.5.0/24'])
    // And the watch goes on from the listing.
    await f.addPeer(6)
    await until(() => r.changes.length === 1)
    expect(f.routesOn('cnet.1')).toEqual(['10.5.5.0/24', '10.5.6.0/24'])
    await other.close()
  })

  it('our own lease changed: the host view is read again and everything reconciled', async () => {
    const f = new OverlayFixture()
    await f.addPeer(2)
    const r = watch(f)
    await until(() => r.reconciles.length === 1)
    const own = (await f.store.get(keys.subnet(f.selfName)))!
    await f.store.put(own.key, own.value.replace('02:00:00:00:00:01', '02:00:00:00:00:aa'))
    await until(() => r.reconciles.length === 2)
    expect(r.reconciles[1]).toBe('own lease changed')
    expect(f.kernel.devices.get('cnet.1')!.mac).toBe('02:00:00:00:00:aa')
  })

  it('an apply that fails is retried as a full reconcile on the backoff, then succeeds', async () => {
    const f = new OverlayFixture()
    await f.addPeer(2)
    const r = watch(f)
    await until(() => r.reconciles.length === 1)
    f.kernel.inject({method: 'apply', kind: 'fail', times: 2, message: 'vxlan: ip -batch - exited 2: RTNETLINK answers: No buffer space available'})
    await f.addPeer(3)
    await until(() => r.reconciles.length === 2, 2000, 'the retry')
    expect(r.failures).toEqual([
      {message: expect.stringContaining('No buffer space'), retryable: true},
      {message: expect.stringContaining('No buffer space'), retryable: true},
    ])
    expect(r.reconciles[1]).toBe('retry')
    expect(f.routesOn('cnet.1')).toEqual(['10.5.2.0/24', '10.5.3.0/24'])
    expect(f.logger.lines.filter((l) => l.level === 'warn' && l.msg.startsWith('vxlan: kernel change failed'))).toHaveLength(2)
    // The stack of every failure is at debug level.
    expect(f.logger.lines.filter((l) => l.level === 'debug' && l.msg === 'step failed').every((l) => String(l.fields.stack).includes('SystemCommandError'))).toBe(true)
    r.stop.abort()
    expect((await r.done).failures).toBe(2)
  })

  it('a hung command ends in a SystemCommandError at its timeout; the loop goes on and retries', async () => {
    const f = new OverlayFixture()
    await f.addPeer(2)
    const r = watch(f)
    await until(() => r.reconciles.length === 1)
    f.kernel.inject({method: 'apply', kind: 'hang'})
    await f.addPeer(3)
    await until(() => f.kernel.hungCalls === 1)
    // Meanwhile events queue up instead of stalling the watch stream.
    await f.addPeer(4)
    f.kernel.timeOutHung() // what the runner's timeout does to a hung process
    await until(() => f.routesOn('cnet.1').length === 3, 2000, 'every peer after the retry')
    expect(r.failures).toEqual([{message: expect.stringContaining('did not finish within'), retryable: true}])
  })

  it('etcd unreachable at start: waits with backoff, then starts', async () => {
    const f = new OverlayFixture()
    await f.addPeer(2)
    f.store.setDown(true)
    const r = watch(f)
    await until(() => f.logger.lines.filter((l) => l.msg === 'etcd unreachable; retrying').length >= 2, 2000, 'two retries')
    expect(r.reconciles).toEqual([])
    f.store.setDown(false)
    await until(() => r.reconciles.length === 1)
    expect(f.routesOn('cnet.1')).toEqual(['10.5.2.0/24'])
  })

  it('etcd unreachable during the watch: the periodic resync repairs the kernel from the last known leases', async () => {
    const f = new OverlayFixture()
    await f.addPeer(2)
    const r = watch(f, {resyncMs: 20})
    await until(() => r.reconciles.length >= 1)
    f.store.setDown(true)
    await f.kernel.apply([{op: 'device-delete', name: 'cnet.1', reason: 'test'}])
    await until(() => f.routesOn('cnet.1').length === 1, 2000, 'the repair')
    expect(f.kernel.devices.has('cnet.1')).toBe(true)
    expect(f.logger.lines.some((l) => l.msg === 'resync: using the last known leases')).toBe(true)
    f.store.setDown(false)
  })

  it('a config problem at start ends the command (nothing to retry)', async () => {
    const f = new OverlayFixture()
    await f.store.delete(keys.networkConfig())
    const r = watch(f)
    await expect(r.done).rejects.toMatchObject({exitCode: 3, message: expect.stringContaining('no config')})
  })

  it('an error that is not operational (a bug) is not swallowed: logged with its stack and fatal', async () => {
    const f = new OverlayFixture()
    await f.addPeer(2)
    const r = watch(f)
    await until(() => r.reconciles.length === 1)
    f.kernel.apply = async () => {
      throw new TypeError('cannot read properties of undefined')
    }
    await f.addPeer(3)
    await expect(r.done).rejects.toThrow(TypeError)
    expect(r.failures).toEqual([{message: 'cannot read properties of undefined', retryable: false}])
    expect(f.logger.lines.some((l) => l.level === 'error' && l.msg === 'vxlan: unexpected error; stopping')).toBe(true)
  })

  it('stopped while waiting for etcd: returns at once', async () => {
    const f = new OverlayFixture()
    f.store.setDown(true)
    const r = watch(f, {retry: {initialMs: 10_000, maxMs: 10_000}})
    await until(() => f.logger.lines.some((l) => l.msg === 'etcd unreachable; retrying'))
    r.stop.abort()
    expect(await r.done).toEqual({resyncs: 0, changes: 0, failures: 0})
  })
})

describe('which errors are retried', () => {
  it.each([
    [new SystemCommandError('vxlan: ip -batch - exited 1'), true],
    [Object.assign(new Error('x'), {exitCode: 4}), false],
    [new TypeError('bug'), false],
  ])('%s -> %s', (error, expected) => {
    expect(isRetryable(error)).toBe(expected)
  })
})
