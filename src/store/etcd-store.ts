import type {IBackoff} from 'cockatiel'
import type {Etcd3, IOptions} from 'etcd3'
import {readStoreCredentials} from './credentials.js'
import {vendor} from './etcd3-loader.js'
import {MAX_REPLY_BYTES, StoreCompactedError, StoreDeadlineError, isCompacted, isTooLarge, toStoreError} from './etcd-errors.js'
import {LeaseKeeper} from './kept-lease.js'
import {EtcdWatch} from './etcd-watch.js'
import {type KeyRange, ListRanges, afterEveryKeyWith} from './range-bounds.js'
import {type RangePage, rangePage, toStoredValue} from './range-response.js'
import {type Condition, DEFAULT_PAGE_SIZE, type KeptLease, type KeptLeaseHandlers, type KeyValues, type LeaseId, type ListOptions, type Listing, MAX_TRANSACTION_OPS, type Store, type StoreOptions, type StoredValue, type TransactionResult, type Watch, type WatchHandlers, type WriteOp} from './store.js'

export const DEFAULT_DEADLINE_MS = 5000

/** The first key after every key that starts with `prefix` (etcd's range_end for a prefix; "\0", every key, when there is none). */
export function prefixEnd(prefix: string): Buffer {
  return afterEveryKeyWith(Buffer.from(prefix)) ?? Buffer.from([0])
}

/** A list that restarts after a compaction more often than this gives up. */
const MAX_LIST_RESTARTS = 5

/** What a page of a list aims at: half of the reply limit, so a page of uneven values still fits. */
export const TARGET_PAGE_BYTES = MAX_REPLY_BYTES / 2
/** The most keys an adaptive page asks for (etcd scans them in one range call). */
export const MAX_PAGE_KEYS = 20_000
/**
 * The limit of the next page of an adaptive list: the bytes per key of the page just
 * read, scaled to TARGET_PAGE_BYTES, between 1 and MAX_PAGE_KEYS. A page that came back
 * too large is halved by the caller; this only sizes the next one.
 */
export function nextPageLimit(limit: number, keys: number, bytes: number): number {
  if (keys === 0 || bytes === 0) return limit
  const perKey = bytes / keys
  return Math.max(1, Math.min(MAX_PAGE_KEYS, Math.floor(TARGET_PAGE_BYTES / perKey)))
}

type RangeReply = Awaited<ReturnType<Etcd3['kv']['range']>>

/** Items of a page, each made when it is reached. */
function* storedValues(page: RangePage, from: number, to: number): Generator<StoredValue> {
  for (let i = from; i < to && i < page.length; i++) yield page.item(i)
}

/**
 * How many items onPage gets in one turn of the event loop. Between turns the reply to
 * the page asked for ahead is read, so its deadline never runs out while this process
 * is busy with the page before; and a server answering queries is not held up for the
 * whole of a 20,000-key page.
 */
export const ITEMS_PER_TURN = 2000

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

export class EtcdStore implements Store {
  readonly endpoints: readonly string[]
  readonly deadlineMs: number
  /** Keys per range call when the caller sets it; otherwise pages adapt to their size in bytes. */
  readonly pageSize: number | undefined
  readonly client: Etcd3
  /** Runs before each page of a list after the first (the tests compact etcd here). */
  beforePage?: (prefix: string, page: number) => Promise<void>

  private constructor(options: StoreOptions) {
    this.endpoints = options.endpoints
    this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS
    this.pageSize = options.pageSize
    const {rootCertificate, certChain, privateKey} = readStoreCredentials(options)
    const deadlineMs = this.deadlineMs
    const {ExponentialBackoff, circuitBreaker, ConsecutiveBreaker, handleWhen, retry, isRecoverableError} = vendor
    // etcd3 counts gRPC's "message larger than max" as a failure of the member: retried
    // as it is (failing again each time) and, three in a row, opening the member's
    // breaker, so one page too big for a reply made every call fail for 2 s. It is an
    // answer about the request, which list() asks again with half the limit.
    const memberFailed = (error: Error) => isRecoverableError(error) && !isTooLarge(error)
    const clientOptions: IOptions = {
      hosts: [...options.endpoints],
      grpcOptions: {
        'grpc.max_receive_message_length': MAX_REPLY_BYTES,
        // HTTP/2's default window is 64 KB: etcd sent a page of a list 64 KB at a time, each
        // waiting for this process to take the last and say so, which it could not while it
        // was busy with the page before. A window of a whole reply lets the next page arrive
        // meanwhile (bench:scale's svc list and dns serve figures; docs/scale.md).
        'grpc-node.flow_control_window': MAX_REPLY_BYTES,
      },
      dialTimeout: deadlineMs,
      defaultCallOptions: (context) => (context.isStream ? {} : {deadline: Date.now() + deadlineMs}),
      faultHandling: {
        // Retry on another member (each retry picks a new host); a member that failed
        // three times in a row is skipped for 2 s.
        // A member that just stopped (or a leader election) fails a few calls in a row;
        // the per-call deadline bounds the retries.
        global: retry(handleWhen(memberFailed), {
          maxAttempts: 3 * options.endpoints.length,
          backoff: new ExponentialBackoff({initialDelay: 50, maxDelay: 500}),
        }),
        host: () => circuitBreaker(handleWhen(memberFailed), {halfOpenAfter: 2000, breaker: new ConsecutiveBreaker(3)}),
        // Reconnect watches quickly: the default backs off up to 30 s.
        // etcd3 calls next() on it first, so a backoff factory is what it really takes.
        watchBackoff: new ExponentialBackoff({initialDelay: 100, maxDelay: 2000}) as unknown as IBackoff<unknown>,
      },
    }
    if (rootCertificate || certChain) clientOptions.credentials = {rootCertificate: rootCertificate ?? Buffer.alloc(0), certChain, privateKey}
    if (options.username) clientOptions.auth = {username: options.username, password: options.password ?? ''}
    this.client = new vendor.Etcd3(clientOptions)
  }

  static async open(options: StoreOptions): Promise<EtcdStore> {
    return new EtcdStore(options)
  }

  /** Runs one store call under the deadline and converts its errors. */
  async call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await this.withDeadline(run)
    } catch (error) {
      throw toStoreError(error, this.endpoints, operation)
    }
  }

  /** One call under the deadline; its error as etcd3 threw it. */
  private async withDeadline<T>(run: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreDeadlineError(`no answer within ${this.deadlineMs} ms`)), this.deadlineMs)
    })
    try {
      return await Promise.race([run(), deadline])
    } finally {
      clearTimeout(timer)
    }
  }

  get(key: string): Promise<StoredValue | null> {
    return this.call(`get ${key}`, async () => {
      const response = await this.client.get(key).exec()
      return response.kvs.length > 0 ? toStoredValue(response.kvs[0]) : null
    })
  }

  /**
   * Reads the prefix in pages (a limit per range call, each page continuing after the
   * last key of the one before), every page at the revision of the first, so the list is
   * one consistent snapshot however large the prefix is: nothing has to fit in one gRPC
   * message. A page that is still too big for one reply is asked again with half the
   * limit. When etcd compacts that revision in the middle, the list starts over.
   *
   * Unless the caller fixes the page size, the first page holds DEFAULT_PAGE_SIZE keys and
   * the next ones are sized from the bytes per key seen so far, to about
   * TARGET_PAGE_BYTES each: small values (health records, leases) then take a few large
   * pages rather than a hundred small ones, each a round trip and a range scan in etcd.
   */
  async list(prefix: string, options: ListOptions = {}): Promise<Listing> {
    const fixed = options.pageSize ?? this.pageSize
    for (let restarts = 0; ; restarts++) {
      try {
        return await this.listOnce(prefix, fixed ?? DEFAULT_PAGE_SIZE, fixed === undefined, options)
      } catch (error) {
        if (!isCompacted(error) || restarts >= MAX_LIST_RESTARTS) throw toStoreError(error, this.endpoints, `list ${prefix}`)
      }
    }
  }

  /**
   * One pass over the prefix. Each page's successor is asked for before the page is
   * converted (or handed to onPage), so etcd reads the next page while this process
   * works on the last one. After the first page, each range ends where a subtree of keys
   * ends (range-bounds.ts), so etcd walks about that page and not the rest of the
   * prefix; a range read whole goes on from its end.
   */
  private async listOnce(prefix: string, pageSize: number, adaptive: boolean, {onPage, onKeyValues}: ListOptions): Promise<Listing> {
    const end = prefixEnd(prefix)
    let revision = 0
    let limit = Math.max(1, pageSize)
    const items: StoredValue[] = []
    const readPage = async ({start, end}: KeyRange): Promise<RangeReply> => {
      for (;;) {
        try {
          return await this.withDeadline(() => this.client.kv.range({key: start, range_end: end, limit, revision: revision || undefined}))
        } catch (error) {
          if (isTooLarge(error) && limit > 1) {
            limit = Math.max(1, limit >> 1)
            continue
          }
          if (isCompacted(error)) throw new StoreCompactedError(`revision ${revision} compacted`)
          throw error
        }
      }
    }
    const ranges = new ListRanges(Buffer.from(prefix), end)
    let range: KeyRange | undefined = ranges.first()
    let pending = readPage(range)
    // etcd's count on the first page is every key of the prefix at the list's revision: once
    // that many are read, the list is done without asking for the (empty) rest.
    let keysInPrefix = Number.NaN
    let keysRead = 0
    for (let page = 0; ; page++) {
      const response = await pending
      if (revision === 0) revision = Number(response.header.revision)
      const kvs = rangePage(response)
      // A count below what the page itself holds is not believed (the list then ends as ranges do).
      if (page === 0) keysInPrefix = Number(response.count) >= kvs.length ? Number(response.count) : Number.NaN
      keysRead += kvs.length
      if (adaptive) limit = nextPageLimit(limit, kvs.length, kvs.bytes)
      range = keysRead >= keysInPrefix ? undefined : ranges.next({first: kvs.firstKey(), last: kvs.lastKey(), returned: kvs.length, inRange: Number(response.count), more: response.more}, limit)
      if (range) {
        await this.beforePage?.(prefix, page + 1)
        pending = readPage(range)
        // Awaited on the next turn of the loop; a failure in this page's work must not leave it unhandled.
        pending.catch(() => {})
      }
      if (onPage || onKeyValues) {
        // An empty first page is handed on too: it tells a list started over that nothing is left.
        for (let from = 0; from < kvs.length || (page === 0 && from === 0); from += ITEMS_PER_TURN) {
          if (from > 0) await nextTurn()
          const to = Math.min(from + ITEMS_PER_TURN, kvs.length)
          const first = page === 0 && from === 0
          if (onKeyValues) {
            const forEachBytes: KeyValues['forEachBytes'] = (visit, keyOffset) => kvs.forEachKeyValueBytes(from, to, visit, keyOffset)
            onKeyValues({forEach: (visit) => forEachBytes((key, bytes, start, end) => visit(key, bytes.toString('utf8', start, end))), forEachBytes}, first)
          }
          else onPage!(storedValues(kvs, from, to), first)
        }
      } else {
        for (let i = 0; i < kvs.length; i++) items.push(kvs.item(i))
      }
      if (!range) return {items, revision}
    }
  }

  put(key: string, value: string, options: {lease?: LeaseId} = {}): Promise<number> {
    return this.call(`put ${key}`, async () => {
      const builder = this.client.put(key).value(value)
      if (options.lease) builder.lease(options.lease)
      const response = await builder.exec()
      return Number(response.header.revision)
    })
  }

  create(key: string, value: string, options: {lease?: LeaseId} = {}): Promise<boolean> {
    return this.compareAndSwap(key, value, 0, options)
  }

  compareAndSwap(key: string, value: string, expectedModRevision: number, options: {lease?: LeaseId} = {}): Promise<boolean> {
    return this.call(`write ${key}`, async () => {
      const put = this.client.put(key).value(value)
      if (options.lease) put.lease(options.lease)
      const guard =
        expectedModRevision === 0
          ? this.client.if(key, 'Create', '==', 0)
          : this.client.if(key, 'Mod', '==', expectedModRevision)
      const response = await guard.then(put).commit()
      return response.succeeded
    })
  }

  delete(key: string, options: {expectedModRevision?: number} = {}): Promise<boolean> {
    return this.call(`delete ${key}`, async () => {
      if (options.expectedModRevision === undefined) {
        const response = await this.client.delete().key(key).exec()
        return Number(response.deleted) > 0
      }
      const response = await this.client
        .if(key, 'Mod', '==', options.expectedModRevision)
        .then(this.client.delete().key(key))
        .commit()
      return response.succeeded
    })
  }

  /**
   * Writes several keys at once, all or none: when every condition holds (each key's mod
   * revision as given, 0 for absent), every operation is applied in one etcd transaction.
   */
  transaction(ops: readonly WriteOp[], conditions: readonly Condition[] = []): Promise<TransactionResult> {
    if (ops.length + conditions.length > MAX_TRANSACTION_OPS) {
      throw new RangeError(`a transaction holds at most ${MAX_TRANSACTION_OPS} operations and conditions, not ${ops.length + conditions.length}`)
    }
    return this.call(`transaction on ${ops[0]?.key ?? 'nothing'}${ops.length > 1 ? ` and ${ops.length - 1} more` : ''}`, async () => {
      const response = await this.client.kv.txn({
        compare: conditions.map((c) =>
          c.present
            ? {key: Buffer.from(c.key), target: 'Create' as const, result: 'Greater' as const, create_revision: 0}
            : c.modRevision === 0
              ? {key: Buffer.from(c.key), target: 'Create' as const, result: 'Equal' as const, create_revision: 0}
              : {key: Buffer.from(c.key), target: 'Mod' as const, result: 'Equal' as const, mod_revision: c.modRevision},
        ),
        success: ops.map((op) =>
          op.type === 'put'
            ? {request_put: {key: Buffer.from(op.key), value: Buffer.from(op.value), lease: op.lease ?? 0}}
            : {request_delete_range: {key: Buffer.from(op.key)}},
        ),
      })
      return {succeeded: response.succeeded, revision: Number(response.header.revision)}
    })
  }

  deletePrefix(prefix: string): Promise<number> {
    return this.call(`delete ${prefix}*`, async () => {
      const response = await this.client.delete().prefix(prefix).exec()
      return Number(response.deleted)
    })
  }

  grantLease(ttlSeconds: number): Promise<LeaseId> {
    return this.call('grant lease', async () => {
      const response = await this.client.leaseClient.leaseGrant({TTL: Math.max(1, Math.round(ttlSeconds))})
      return String(response.ID)
    })
  }

  revokeLease(id: LeaseId): Promise<void> {
    return this.call(`revoke lease ${id}`, async () => {
      try {
        await this.client.leaseClient.leaseRevoke({ID: id})
      } catch (error) {
        // Already gone is what we wanted.
        if (!/not found|EtcdLeaseInvalid/i.test(`${(error as Error).constructor?.name} ${(error as Error).message}`)) throw error
      }
    })
  }

  leaseTimeToLive(id: LeaseId): Promise<{ttlSeconds: number; grantedTtlSeconds: number} | null> {
    return this.call(`lease ${id} time to live`, async () => {
      const response = await this.client.leaseClient.leaseTimeToLive({ID: id})
      const ttl = Number(response.TTL)
      return ttl < 0 ? null : {ttlSeconds: ttl, grantedTtlSeconds: Number(response.grantedTTL)}
    })
  }

  keepAliveOnce(id: LeaseId): Promise<boolean> {
    return this.call(`keep lease ${id} alive`, async () => {
      const stream = await this.client.leaseClient.leaseKeepAlive()
      try {
        const response = await new Promise<{TTL: string}>((resolve, reject) => {
          stream.on('data', resolve)
          stream.on('error', reject)
          stream.write({ID: id})
        })
        return Number(response.TTL) > 0
      } finally {
        stream.end()
      }
    })
  }

  async keepLease(ttlSeconds: number, handlers: KeptLeaseHandlers = {}): Promise<KeptLease> {
    return LeaseKeeper.start(this, ttlSeconds, handlers)
  }

  async watchPrefix(prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<Watch> {
    return EtcdWatch.start(this, prefix, fromRevision, handlers)
  }

  revision(): Promise<number> {
    return this.call('status', async () => {
      const response = await this.client.get('\0cnet-health').exec()
      return Number(response.header.revision)
    })
  }

  async close(): Promise<void> {
    this.client.close()
  }
}

