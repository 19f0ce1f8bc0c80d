import {execFileSync} from 'node:child_process'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {openStore} from '../../src/store/index.js'
import type {Store, WatchEvent} from '../../src/store/store.js'
import {cliEnv, runCli} from '../helpers/cli.js'
import {type EtcdMember, sleep, startEtcd} from '../helpers/etcd.js'
import {uniquePrefixes, useEtcd} from '../helpers/shared-etcd.js'

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

describe('store against a shared etcd', () => {
  const etcd = useEtcd()
  let store: Store
  const root = `${uniquePrefixes('store').cnetPrefix}/`

  beforeAll(async () => {
    store = await openStore({endpoints: [etcd().endpoint]})
  })
  afterAll(async () => {
    await store.deletePrefix(root).catch(() => {})
    await store.close()
  })

  it('create-if-absent conflicts on an existing key', async () => {
    expect(await store.create(`${root}a`, '1')).toBe(true)
    expect(await store.create(`${root}a`, '2')).toBe(false)
    expect((await store.get(`${root}a`))?.value).toBe('1')
  })

  it('compare-and-swap succeeds only on the expected mod revision', async () => {
    await store.put(`${root}cas`, 'v1')
    const first = (await store.get(`${root}cas`))!
    expect(await store.compareAndSwap(`${root}cas`, 'v2', first.modRevision)).toBe(true)
    expect(await store.compareAndSwap(`${root}cas`, 'v3', first.modRevision)).toBe(false)
    expect((await store.get(`${root}cas`))?.value).toBe('v2')
    const second = (await store.get(`${root}cas`))!
    expect(await store.delete(`${root}cas`, {expectedModRevision: first.modRevision})).toBe(false)
    expect(await store.delete(`${root}cas`, {expectedModRevision: second.modRevision})).toBe(true)
    expect(await store.get(`${root}cas`)).toBeNull()
  })

  it('lists a prefix with its revision', async () => {
    await store.put(`${root}list/x`, '1')
    await store.put(`${root}list/y`, '2')
    const listing = await store.list(`${root}list/`)
    expect(listing.items.map((i) => [i.key, i.value])).toEqual([
      [`${root}list/x`, '1'],
      [`${root}list/y`, '2'],
    ])
    expect(listing.revision).toBeGreaterThanOrEqual(Math.max(...listing.items.map((i) => i.modRevision)))
  })

  it('deletes the keys of an expired lease', async () => {
    const lease = await store.grantLease(1)
    await store.put(`${root}leased`, 'x', {lease})
    expect((await store.get(`${root}leased`))?.lease).toBe(lease)
    expect((await store.leaseTimeToLive(lease))?.grantedTtlSeconds).toBe(1)
    await sleep(2600)
    expect(await store.get(`${root}leased`)).toBeNull()
    expect(await store.leaseTimeToLive(lease)).toBeNull()
    expect(await store.keepAliveOnce(lease)).toBe(false)
  })

  it('keeps a kept-alive lease past three times its TTL', async () => {
    const kept = await store.keepLease(1)
    await kept.put(`${root}kept`, 'alive')
    await sleep(3500)
    expect((await store.get(`${root}kept`))?.value).toBe('alive')
    await kept.stop({revoke: true})
    expect(await store.get(`${root}kept`)).toBeNull()
  })

  it('grants a lost lease again and puts its keys back', async () => {
    const regranted: string[] = []
    const kept = await store.keepLease(2, {onRegranted: (id) => regranted.push(id)})
    await kept.put(`${root}regrant`, 'mine')
    const firstId = kept.id
    // Simulate the leader losing the lease: revoke it behind the kept lease's back.
    await store.revokeLease(firstId)
    expect(await store.get(`${root}regrant`)).toBeNull()
    await waitFor(() => regranted.length > 0, 5000, 'the re-grant')
    const back = await store.get(`${root}regrant`)
    expect(back?.value).toBe('mine')
    expect(back?.lease).toBe(kept.id)
    expect(kept.id).not.toBe(firstId)
    await kept.stop({revoke: true})
  })

  it('reports a conflict instead of taking a create-key back from someone else', async () => {
    const conflicts: string[] = []
    const kept = await store.keepLease(2, {onConflict: (key, theirs) => conflicts.push(`${key}=${theirs}`)})
    expect(await kept.create(`${root}claim`, 'me')).toBe(true)
    await store.revokeLease(kept.id)
    await store.put(`${root}claim`, 'someone-else')
    await waitFor(() => conflicts.length > 0, 5000, 'the conflict')
    expect(conflicts).toEqual([`${root}claim=someone-else`])
    expect((await store.get(`${root}claim`))?.value).toBe('someone-else')
    await kept.stop({revoke: true})
  })

  it('guards a compare-and-swapped key like a created one: put back after a re-grant only while nobody took it', async () => {
    const conflicts: string[] = []
    const regranted: string[] = []
    const kept = await store.keepLease(2, {onConflict: (key, theirs) => conflicts.push(`${key}=${theirs}`), onRegranted: (id) => regranted.push(id)})
    await store.put(`${root}swap/free`, 'old')
    await store.put(`${root}swap/taken`, 'old')
    const free = (await store.get(`${root}swap/free`))!
    const taken = (await store.get(`${root}swap/taken`))!
    expect(await kept.compareAndSwap(`${root}swap/free`, 'mine', free.modRevision + 1)).toBe(false)
    expect((await store.get(`${root}swap/free`))?.value).toBe('old')
    expect(await kept.compareAndSwap(`${root}swap/free`, 'mine', free.modRevision)).toBe(true)
    expect(await kept.compareAndSwap(`${root}swap/taken`, 'mine', taken.modRevision)).toBe(true)
    expect((await store.get(`${root}swap/free`))?.lease).toBe(kept.id)

    await store.revokeLease(kept.id)
    await store.put(`${root}swap/taken`, 'someone-else')
    await waitFor(() => regranted.length > 0, 5000, 'the re-grant')
    expect(conflicts).toEqual([`${root}swap/taken=someone-else`])
    expect(await store.get(`${root}swap/free`)).toMatchObject({value: 'mine', lease: kept.id})
    expect(await store.get(`${root}swap/taken`)).toMatchObject({value: 'someone-else', lease: null})
    await kept.stop({revoke: true})
  })

  it('delivers puts and deletes in order from a revision', async () => {
    const prefix = `${root}watch/`
    const listing = await store.list(prefix)
    const events: WatchEvent[] = []
    const watch = await store.watchPrefix(prefix, listing.revision + 1, {onEvents: (e) => void events.push(...e), onResync: () => {}})
    await store.put(`${prefix}a`, '1')
    await store.put(`${prefix}b`, '2')
    await store.put(`${prefix}a`, '3')
    await store.delete(`${prefix}b`)
    await waitFor(() => events.length >= 4, 5000, 'four events')
    expect(events.map((e) => `${e.type} ${e.key.slice(prefix.length)} ${e.type === 'put' ? e.value : e.prevValue}`)).toEqual(['put a 1', 'put b 2', 'put a 3', 'delete b 2'])
    await watch.close()
  })
})

describe('store against its own etcd member', () => {
  let member: EtcdMember
  let store: Store

  beforeAll(async () => {
    member = await startEtcd({name: 'own'})
    store = await openStore({endpoints: [member.endpoint], deadlineMs: 2000})
  })
  afterAll(async () => {
    await store?.close()
    await member?.destroy()
  })

  it('resumes a watch across a restart of the member with no lost and no repeated events', async () => {
    const prefix = '/restart/'
    const seen: string[] = []
    const listing = await store.list(prefix)
    const watch = await store.watchPrefix(prefix, listing.revision + 1, {onEvents: (e) => void seen.push(...e.map((x) => x.key)), onResync: () => {}})
    for (let i = 0; i < 5; i++) await store.put(`${prefix}${i}`, 'x')
    await waitFor(() => seen.length >= 5, 5000, 'first five events')
    await member.stop()
    await member.start()
    await member.waitReady()
    // Write with another client while ours may still be reconnecting.
    for (let i = 5; i < 10; i++) execFileSync('etcdctl', ['--endpoints', member.endpoint, 'put', `${prefix}${i}`, 'x'])
    await waitFor(() => seen.length >= 10, 15_000, 'events after the restart')
    await sleep(300)
    expect(seen).toEqual(Array.from({length: 10}, (_, i) => `${prefix}${i}`))
    await watch.close()
  })

  it('re-lists and tells the caller to resync when its revision was compacted, then goes on delivering on the same watch', async () => {
    const prefix = '/compact/'
    await store.put(`${prefix}early`, '1')
    const listing = await store.list(prefix)
    await store.put(`${prefix}late`, '2')
    const latest = await store.put(`${prefix}later`, '3')
    execFileSync('etcdctl', ['--endpoints', member.endpoint, 'compact', String(latest)])
    // One log of everything the watch hands over, resyncs and events alike, in the order it hands them.
    const log: string[] = []
    const watch = await store.watchPrefix(prefix, listing.revision + 1, {
      onEvents: (events) => void log.push(...events.map((e) => `${e.type} ${e.key.slice(prefix.length)}`)),
      onResync: (l) => void log.push(`resync ${l.items.map((i) => i.key.slice(prefix.length)).join(',')}`),
    })
    await waitFor(() => log.length > 0, 5000, 'a resync')
    expect(log).toEqual(['resync early,late,later'])
    expect(watch.nextRevision).toBeGreaterThan(latest)
    // The same watch, not a new one, delivers what happens after the resync: in order, each once.
    await store.put(`${prefix}new`, '4')
    await store.put(`${prefix}early`, '5')
    await store.delete(`${prefix}late`)
    await store.put(`${prefix}newer`, '6')
    await store.delete(`${prefix}new`)
    await waitFor(() => log.length >= 6, 5000, 'five events after the resync')
    await sleep(300)
    expect(log).toEqual(['resync early,late,later', 'put new', 'put early', 'delete late', 'put newer', 'delete new'])
    await watch.close()
  })

  it('fails a CLI call with exit 4 within the deadline when etcd is stopped', async () => {
    const prefixes = uniquePrefixes('down')
    await member.stop()
    try {
      const result = await runCli(['network', 'show', '--etcd-timeout', '2s'], {env: cliEnv(member.endpoint, prefixes)})
      expect(result.exitCode).toBe(4)
      expect(result.stderr).toContain(member.endpoint)
      expect(result.stderr.trim().split('\n')).toHaveLength(1)
      expect(result.durationMs).toBeLessThan(2000 + 1500)
      const store2 = await openStore({endpoints: [member.endpoint], deadlineMs: 1000})
      const started = Date.now()
      await expect(store2.get('/x')).rejects.toMatchObject({exitCode: 4})
      expect(Date.now() - started).toBeLessThan(2500)
      await store2.close()
    } finally {
      await member.start()
      await member.waitReady()
    }
  })
})
