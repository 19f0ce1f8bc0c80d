import type {Store, StoreOptions} from './store.js'

export type * from './store.js'
export {Keys, DEFAULT_CNET_PREFIX, DEFAULT_NETWORK_PREFIX} from './keys.js'
export {isStoreUnavailable} from './errors.js'
export {DEFAULT_PAGE_SIZE, MAX_TRANSACTION_OPS} from './store.js'

/**
 * Opens the etcd store. The implementation, and with it etcd3 and gRPC, is loaded
 * only here, so `cnet --help` and commands that need no store stay fast.
 */
export async function openStore(options: StoreOptions): Promise<Store> {
  const {EtcdStore} = await import('./etcd-store.js')
  return EtcdStore.open(options)
}
