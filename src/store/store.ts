/**
 * The one interface between cnet and its shared state. Nothing here names etcd3:
 * the implementation (etcd-store.ts) is loaded on demand by openStore(), so
 * commands that never touch etcd never pay for loading gRPC.
 */
export type LeaseId = string

export interface StoredValue {
  key: string
  value: string
  createRevision: number
  modRevision: number
  version: number
  /** The etcd lease the key is attached to; null for a permanent key. */
  lease: LeaseId | null
}

export interface Listing {
  items: StoredValue[]
  /** The store revision the listing was read at: watch from revision + 1. */
  revision: number
}

/** Keys per range call of a list: small enough for any cnet value to fit a 4 MB reply. */
export const DEFAULT_PAGE_SIZE = 1000

export interface ListOptions {
  /** Keys per range call (default DEFAULT_PAGE_SIZE). */
  pageSize?: number
  /**
   * Takes each page as it is read instead of the listing keeping it (its items are then
   * empty): a caller that reduces what it reads works while the next page is on its way,
   * and never holds every item at once. Items are made as they are iterated, so a page
   * is never all in memory as strings either: iterate it once. `first` is true for the
   * first page of the list, and again when the list starts over after a compaction:
   * drop what came before.
   */
  onPage?: (items: Iterable<StoredValue>, first: boolean) => void
  /**
   * As onPage, for a caller that needs only each item's key and value: no StoredValue is
   * made, and the revisions and lease are not read. A fleet's listing is 200,000 items,
   * and making each lease id's text and each item's object was a tenth of dns serve's
   * start.
   */
  onKeyValues?: (page: KeyValues, first: boolean) => void
}

/**
 * Part of a page of a list, for a reader that needs only keys and values. It may be kept,
 * and read after onKeyValues returns and more than once (`svc list` keeps a registration
 * page until the health listing has passed its keys, and reads it again from where it
 * stopped).
 */
export interface KeyValues {
  /** Calls `visit` with each item's key and value, in key order; returns how many there were. */
  forEach(visit: (key: string, value: string) => void): number
  /**
   * As forEach, with each value as UTF-8 bytes, bytes[start..end), not yet a string: for
   * a reader that keeps values to read later. The bytes are the reply's own, never
   * reused: they may be kept.
   *
   * With `keyOffset`, each key is given from its keyOffset-th byte on (a reader of one
   * prefix passes its length in bytes): the text it wants, made straight from the bytes,
   * rather than the whole key and then a slice that would keep the whole key alive.
   */
  forEachBytes(visit: (key: string, bytes: Buffer, start: number, end: number) => void, keyOffset?: number): number
}

/** Items as KeyValues, for a reader of both. */
export function keyValuesOf(items: Iterable<StoredValue>): KeyValues {
  return {
    forEach(visit) {
      let count = 0
      for (const item of items) {
        visit(item.key, item.value)
        count++
      }
      return count
    },
    forEachBytes(visit, keyOffset = 0) {
      return this.forEach((key, value) => {
        const bytes = Buffer.from(value)
        visit(keyOffset ? Buffer.from(key).toString('utf8', keyOffset) : key, bytes, 0, bytes.length)
      })
    },
  }
}

/** etcd's default --max-txn-ops: operations plus conditions in one transaction. */
export const MAX_TRANSACTION_OPS = 128

export type WriteOp = {type: 'put'; key: string; value: string; lease?: LeaseId} | {type: 'delete'; key: string}

/**
 * What a transaction requires of a key: its mod revision is still this (0: the key is
 * absent), or it exists at all (whatever its value).
 */
export type Condition = {key: string; modRevision: number; present?: never} | {key: string; present: true; modRevision?: never}

export interface TransactionResult {
  /** Whether the conditions held (and so every operation was applied). */
  succeeded: boolean
  revision: number
}

export type WatchEvent =
  | {type: 'put'; key: string; value: string; modRevision: number; lease: LeaseId | null; prevValue?: string}
  | {type: 'delete'; key: string; modRevision: number; prevValue?: string}

export interface WatchHandlers {
  /**
   * Events in revision order, each once. One call may carry several revisions (etcd
   * replays a backlog in one reply); `revision` is the store revision the call brings the
   * watch up to. Calls are serialised: the next waits for this one's promise.
   */
  onEvents(events: WatchEvent[], revision: number): void | Promise<void>
  /**
   * The watch lost its place (its revision was compacted away): here is everything
   * under the prefix now. Replace what you knew with it.
   */
  onResync(listing: Listing): void | Promise<void>
  /**
   * When given, the listing a resync reads comes here page by page, as list's onPage
   * gives it (`first` again when the listing starts over), and onResync then gets the
   * listing without items: a big prefix is never held whole to resync. Replace what you
   * knew with what the pages held since the last `first`.
   */
  onResyncPage?: (items: Iterable<StoredValue>, first: boolean) => void
  /** The stream to the store went down or came back. */
  onConnectionChange?(connected: boolean, error?: Error): void
}

export interface Watch {
  /** The next revision this watch expects. */
  readonly nextRevision: number
  close(): Promise<void>
}

export interface KeptLeaseHandlers {
  /** The store said the lease was gone; a new one was granted and the keys put back. */
  onRegranted?(newLease: LeaseId, oldLease: LeaseId): void
  /**
   * A key attached with `create` or `compareAndSwap` was taken by someone else while our
   * lease was gone: it is left to them and no longer kept.
   */
  onConflict?(key: string, theirValue: string): void
  /** A keep-alive failed because the store could not be reached; it will retry. */
  onUnreachable?(error: Error): void
  /** Keep-alives succeed again after a failure. */
  onReachable?(): void
}

/**
 * A lease kept alive in the background. Keys attached to it are put back under a new
 * lease whenever the store reports the old one lost (after an outage longer than the
 * TTL, say), which the etcd3 client does not do by itself.
 */
export interface KeptLease {
  readonly id: LeaseId
  readonly ttlSeconds: number
  /** Puts the key under the lease and re-puts it unconditionally after a re-grant. */
  put(key: string, value: string): Promise<void>
  /**
   * Puts the key under the lease only while `required` exists (false otherwise, and the
   * key is not kept). After a re-grant it is put back on the same condition; once that
   * fails, it is no longer kept.
   */
  putIfPresent(key: string, value: string, required: string): Promise<boolean>
  /**
   * Puts several keys under the lease in one transaction (all or none) and deletes
   * `deletes`; each put key is kept like `put`.
   */
  putAll(entries: readonly {key: string; value: string}[], deletes?: readonly string[]): Promise<void>
  /**
   * Creates the key under the lease if it is absent (returns false otherwise). After a
   * re-grant it is put back only if still absent or unchanged; else onConflict.
   */
  create(key: string, value: string): Promise<boolean>
  /**
   * Writes the key under the lease only if its mod revision is still
   * `expectedModRevision` (0: still absent); false otherwise. Kept like a created key:
   * after a re-grant it is put back only if still absent or unchanged; else onConflict.
   */
  compareAndSwap(key: string, value: string, expectedModRevision: number): Promise<boolean>
  /** Stops re-putting the key (it stays until the lease goes). */
  forget(key: string): void
  /** Stops the keep-alives; with revoke, also deletes the lease and its keys now. */
  stop(options?: {revoke?: boolean}): Promise<void>
}

export interface Store {
  /** The endpoints it was opened with, for messages. */
  readonly endpoints: readonly string[]
  get(key: string): Promise<StoredValue | null>
  /** Every key under the prefix, in key order, read in pages at one revision. */
  list(prefix: string, options?: ListOptions): Promise<Listing>
  /** Returns the revision of the write. */
  put(key: string, value: string, options?: {lease?: LeaseId}): Promise<number>
  /** Create-if-absent: false when the key exists. */
  create(key: string, value: string, options?: {lease?: LeaseId}): Promise<boolean>
  /** Put only if the key's mod revision is still `expectedModRevision` (0: still absent). */
  compareAndSwap(key: string, value: string, expectedModRevision: number, options?: {lease?: LeaseId}): Promise<boolean>
  /** Delete; with expectedModRevision, only if unchanged. Returns whether a key was deleted. */
  delete(key: string, options?: {expectedModRevision?: number}): Promise<boolean>
  /** All or none: the operations, applied only if every condition holds (at most MAX_TRANSACTION_OPS in all). */
  transaction(ops: readonly WriteOp[], conditions?: readonly Condition[]): Promise<TransactionResult>
  deletePrefix(prefix: string): Promise<number>
  grantLease(ttlSeconds: number): Promise<LeaseId>
  revokeLease(id: LeaseId): Promise<void>
  /** Seconds left, or null when the lease no longer exists. */
  leaseTimeToLive(id: LeaseId): Promise<{ttlSeconds: number; grantedTtlSeconds: number} | null>
  /** One keep-alive; false when the lease no longer exists. */
  keepAliveOnce(id: LeaseId): Promise<boolean>
  keepLease(ttlSeconds: number, handlers?: KeptLeaseHandlers): Promise<KeptLease>
  /** Watches a prefix from a revision (usually a listing's revision + 1). */
  watchPrefix(prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<Watch>
  /** The current revision: a cheap health check. */
  revision(): Promise<number>
  close(): Promise<void>
}

export interface StoreOptions {
  endpoints: string[]
  /** Deadline for each call, in ms (default 5000); a list gets it per page. */
  deadlineMs?: number
  /** Keys per range call of a list (default DEFAULT_PAGE_SIZE). */
  pageSize?: number
  caFile?: string
  certFile?: string
  keyFile?: string
  username?: string
  password?: string
}
