import {StoreUnavailableError} from '../lib/errors.js'

/**
 * The store's own classification of its errors, for callers deciding whether to retry.
 * Every error a Store method throws has already been converted (store/etcd-errors.ts
 * is the one place raw gRPC and etcd3 errors become cnet's typed errors), so this is a
 * type test, not a reading of words in a message.
 */
export function isStoreUnavailable(error: unknown): error is StoreUnavailableError {
  return error instanceof StoreUnavailableError
}
