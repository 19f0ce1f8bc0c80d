import {execFileSync} from 'node:child_process'
import {openStore} from '../../src/store/index.js'
import type {EtcdStore} from '../../src/store/etcd-store.js'
import {describeStoreContract} from '../contract/store-contract.js'
import {startEtcd, sleep} from '../helpers/etcd.js'
import {waitFor} from '../helpers/poll.js'

/**
 * The store's contract against a real etcd member of this file's own (the outage test
 * stops it). The same suite runs against the MemoryStore in the unit tier, which is how
 * we know the MemoryStore behaves as etcd does.
 */
describeStoreContract('EtcdStore on a real etcd', async () => {
  const member = await startEtcd({name: 'contract'})
  const store = (await openStore({endpoints: [member.endpoint], deadlineMs: 2000})) as EtcdStore
  const other = await openStore({endpoints: [member.endpoint], deadlineMs: 2000})
  return {
    store,
    other,
    root: '/contract/',
    // Time itself, for the contract's checks that something does not happen (a kept
    // lease outliving its TTL, no event after a watch closed): the MemoryStore's
    // harness advances a fake clock instead.
    elapse: async (ms) => {
      await sleep(ms)
    },
    waitFor: async (what, probe, timeoutMs = 10_000) => (await waitFor(what, probe, {timeoutMs, intervalMs: 20})) as Awaited<ReturnType<typeof probe>>,
    compact: async (revision) => {
      execFileSync('etcdctl', ['--endpoints', member.endpoint, 'compact', String(revision)], {stdio: 'ignore'})
    },
    outage: async (during) => {
      await member.stop()
      try {
        await during()
      } finally {
        await member.start()
        await member.waitReady()
        await waitFor('the second client to reach etcd again', () => other.revision(), {timeoutMs: 15_000})
      }
    },
    setBeforePage: (hook) => {
      store.beforePage = hook
    },
    close: async () => {
      await store.close()
      await other.close()
      await member.destroy()
    },
  }
})
