import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {openStore} from '../../src/store/index.js'
import type {Store, Watch} from '../../src/store/store.js'
import {type EtcdCluster, startEtcdCluster} from '../helpers/etcd.js'
import {waitFor} from '../helpers/poll.js'

describe('a three-member etcd cluster', () => {
  let cluster: EtcdCluster
  let store: Store
  let watch: Watch
  const seen: string[] = []

  beforeAll(async () => {
    cluster = await startEtcdCluster(3)
    store = await openStore({endpoints: cluster.endpoints, deadlineMs: 3000})
    const listing = await store.list('/cluster/')
    watch = await store.watchPrefix('/cluster/', listing.revision + 1, {
      onEvents: (events) => void seen.push(...events.map((e) => e.key)),
      onResync: () => {},
    })
  }, 60_000)

  afterAll(async () => {
    await watch?.close()
    await store?.close()
    await cluster?.destroy()
  })

  const waitForSeen = (count: number, timeoutMs: number) => waitFor(`${count} watch events`, () => seen.length >= count && seen.length, {timeoutMs, intervalMs: 20})

  // Stopping each member in turn stops, at some point, the one the client talks to.
  it.each([0, 1, 2])('keeps reads, writes and the watch working while member %d is down', async (index) => {
    const member = cluster.members[index]
    const before = seen.length
    await store.put(`/cluster/before-${index}`, 'x')
    await member.stop()
    try {
      await store.put(`/cluster/during-${index}`, 'y')
      expect((await store.get(`/cluster/during-${index}`))?.value).toBe('y')
      expect((await store.list('/cluster/')).items.length).toBeGreaterThanOrEqual(2 * (index + 1))
      await waitForSeen(before + 2, 15_000)
      expect(seen.slice(before)).toEqual([`/cluster/before-${index}`, `/cluster/during-${index}`])
    } finally {
      await member.start()
      await member.waitReady(20_000)
    }
  }, 60_000)
})
