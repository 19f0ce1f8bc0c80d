import type {IKeyValue} from 'etcd3'
import type {Watcher} from 'etcd3'
import type {EtcdStore} from './etcd-store.js'
import {toStoredValue} from './etcd-store.js'
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
    await watch.attach()
    return watch
  }

  get nextRevision(): number {
    return this.next
  }

  async close(): Promise<void> {
    this.closed = true
    const watcher = this.watcher
    this.watcher = undefined
    await watcher?.cancel().catch(() => {})
    await this.queue.catch(() => {})
  }

  private async attach(): Promise<void> {
    const watcher = await this.store.client
      .watch()
      .prefix(this.prefix)
      .startRevision(String(this.next))
      .withPreviousKV()
      .create()
    if (this.closed) {
      await watcher.cancel().catch(() => {})
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
        const listing = await this.store.list(this.prefix)
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

function toWatchEvent(event: RawEvent): WatchEvent {
  const stored = toStoredValue(event.kv)
  const prevValue = event.prev_kv ? event.prev_kv.value.toString() : undefined
  if (event.type === 'Delete') return {type: 'delete', key: stored.key, modRevision: stored.modRevision, prevValue}
  return {type: 'put', key: stored.key, value: stored.value, modRevision: stored.modRevision, lease: stored.lease, prevValue}
}
