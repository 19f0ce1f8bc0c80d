import type {IKeyValue} from 'etcd3'
import type {Watcher} from 'etcd3'
import type {EtcdStore} from './etcd-store.js'
import {toStoredValue} from './range-response.js'
import type {Watch, WatchEvent, WatchHandlers} from './store.js'

interface RawEvent {
  type: 'Put' | 'Delete'
  kv: IKeyValue
  prev_kv?: IKeyValue
}

/**
 * A prefix watch that never loses its place silently. Across reconnects the etcd3
 * watcher resumes from the last header revision + 1 (no lost, no repeated events).
 * When etcd cancels it (the revision was compacted, or any other cancel), it lists
 * the prefix again, hands the caller the full state through onResync, and watches
 * from that listing's revision + 1, backing off while etcd is unreachable instead of
 * spinning on the same revision as flannel did.
 */
export class EtcdWatch implements Watch {
  private watcher: Watcher | undefined
  private closed = false
  private queue: Promise<void> = Promise.resolve()
  private next: number

  private constructor(
    private readonly store: EtcdStore,
    private readonly prefix: string,
    fromRevision: number,
    private readonly handlers: WatchHandlers,
  ) {
    this.next = fromRevision
  }

  static async start(store: EtcdStore, prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<EtcdWatch> {
    const watch = new EtcdWatch(store, prefix, fromRevision, handlers)
    // etcd3 creates a watch only once its stream is connected, which with etcd away
    // means whenever etcd returns. The caller must not stall that long (its periodic
    // work has to go on), so past the deadline the watch finishes attaching in the
    // background; it still starts at fromRevision, so nothing is missed.
    const attaching = watch.attach()
    const attachedInTime = await Promise.race([attaching.then(() => true), delay(store.deadlineMs).then(() => false)])
    if (!attachedInTime) {
      handlers.onConnectionChange?.(false, new Error(`watch on ${prefix} not yet established; etcd unreachable`))
      attaching.catch(() => watch.resync())
    }
    return watch
  }

  get nextRevision(): number {
    return this.next
  }

  async close(): Promise<void> {
    this.closed = true
    const watcher = this.watcher
    this.watcher = undefined
    // etcd3 waits for the stream to (re)connect before cancelling; with etcd away that
    // can be forever, and a closing watch must never hold a shutdown.
    if (watcher) await settleWithin(watcher.cancel(), CANCEL_WAIT_MS)
    // The queue may hold a resync that is re-attaching, which etcd3 lets wait for a
    // reconnect without end; handlers already delivered are the caller's to finish.
    await settleWithin(this.queue, CANCEL_WAIT_MS)
  }

  private async attach(): Promise<void> {
    // Each attachment gets a watch stream of its own (a namespace with no prefix is a new
    // etcd3 WatchManager on the same connection). etcd3 tears a shared stream down when
    // its last watcher is cancelled but keeps treating it as connected, so a watch
    // created right after (a resync, a second watch of the same client) could be attached
    // to the dead stream, and a late reply on it threw "Failed to find watcher for
    // IWatchResponse" out of a stream callback: an uncaught exception.
    const watcher = await this.store.client
      .namespace('')
      .watch()
      .prefix(this.prefix)
      .startRevision(String(this.next))
      .withPreviousKV()
      .create()
    if (this.closed) {
      await settleWithin(watcher.cancel(), CANCEL_WAIT_MS)
      return
    }
    this.watcher = watcher
    watcher.on('data', (response: {header: {revision: string}; events: RawEvent[]}) => {
      const revision = Number(response.header.revision)
      const events = response.events.map(toWatchEvent)
      this.next = Math.max(this.next, revision + 1)
      if (events.length === 0) return
      this.enqueue(() => this.handlers.onEvents(events, revision))
    })
    watcher.on('connected', () => this.handlers.onConnectionChange?.(true))
    watcher.on('disconnected', (error: Error) => this.handlers.onConnectionChange?.(false, error))
    watcher.on('error', () => {
      // etcd cancelled the watch (most often: our revision was compacted).
      if (this.watcher !== watcher) return
      this.watcher = undefined
      void watcher.cancel().catch(() => {})
      this.enqueue(() => this.resync())
    })
  }

  private enqueue(task: () => void | Promise<void>): void {
    this.queue = this.queue.then(task).catch((error) => {
      // A handler's own failure must not stop the stream of events.
      process.emitWarning(`watch handler failed: ${(error as Error).message}`)
    })
  }

  private async resync(): Promise<void> {
    for (let delay = 100; !this.closed; delay = Math.min(delay * 2, 2000)) {
      try {
        const onPage = this.handlers.onResyncPage
        const listing = await this.store.list(this.prefix, onPage ? {onPage} : undefined)
        if (this.closed) return
        this.next = listing.revision + 1
        await this.handlers.onResync(listing)
        await this.attach()
        return
      } catch {
        this.handlers.onConnectionChange?.(false)
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    }
  }
}

const CANCEL_WAIT_MS = 1000

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}

/** Waits for a promise at most `ms`, ignoring how it ends. */
function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))
  return Promise.race([promise.then(() => {}, () => {}), timeout]).finally(() => clearTimeout(timer))
}

function toWatchEvent(event: RawEvent): WatchEvent {
  const stored = toStoredValue(event.kv)
  const prevValue = event.prev_kv ? event.prev_kv.value.toString() : undefined
  if (event.type === 'Delete') return {type: 'delete', key: stored.key, modRevision: stored.modRevision, prevValue}
  return {type: 'put', key: stored.key, value: stored.value, modRevision: stored.modRevision, lease: stored.lease, prevValue}
}
