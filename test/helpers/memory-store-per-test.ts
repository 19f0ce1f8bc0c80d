import {afterEach} from '@jest/globals'
import {MemoryStore, type MemoryStoreOptions} from './memory-store.js'

/**
 * For a test file's top level: returns a maker of MemoryStores, each closed after the
 * test that made it, so no test sees another's keys, leases or watches.
 */
export function memoryStorePerTest(): (options?: MemoryStoreOptions) => MemoryStore {
  const made: MemoryStore[] = []
  afterEach(async () => {
    for (const store of made.splice(0)) await store.close()
  })
  return (options) => {
    const store = new MemoryStore(options)
    made.push(store)
    return store
  }
}
