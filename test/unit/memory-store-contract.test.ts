import {jest} from '@jest/globals'
import {describeStoreContract} from '../contract/store-contract.js'
import {MemoryStore} from '../helpers/memory-store.js'

/**
 * The store's contract against the MemoryStore, on jest's fake clock: what takes
 * seconds against etcd (lease expiry, keep-alives) takes none here. The same suite runs
 * against a real etcd in test/integration/store-contract.integration.test.ts.
 */
describeStoreContract('MemoryStore', async () => {
  jest.useFakeTimers({doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask']})
  const store = new MemoryStore()
  const other = store.connect()
  return {
    store,
    other,
    root: '/contract/',
    elapse: async (ms) => {
      await jest.advanceTimersByTimeAsync(ms)
    },
    waitFor: async (what, probe, timeoutMs = 10_000) => {
      for (let waited = 0; ; waited += 10) {
        const value = await probe()
        if (value) return value
        if (waited >= timeoutMs) throw new Error(`timed out after ${timeoutMs} ms (fake clock) waiting for ${what}`)
        await jest.advanceTimersByTimeAsync(10)
      }
    },
    compact: async (revision) => store.compact(revision),
    outage: async (during) => {
      store.setDown(true)
      try {
        await during()
      } finally {
        store.setDown(false)
      }
    },
    setBeforePage: (hook) => {
      store.beforePage = hook
    },
    close: async () => {
      await store.close()
      await other.close()
      jest.useRealTimers()
    },
  }
})
