import {StoreUnavailableError} from '../../src/lib/errors.js'
import type {Listing, Store, StoredValue, Watch, WatchEvent, WatchHandlers} from '../../src/store/store.js'

/**
 * A small in-memory Store for the DNS index's unit tests: list, get, put, delete and
 * prefix watches (events delivered synchronously), a resync on demand, and injected
 * unavailability. Every other Store method throws. (The faithful MemoryStore replaces it
 * once it lands.)
 */
export class FakeWatchStore {
  readonly endpoints = ['fake://']
  private readonly data = new Map<string, string>()
  private rev = 1
  private readonly watchers: {prefix: string; handlers: WatchHandlers; closed: boolean}[] = []
  /** While true, list and get fail as an unreachable etcd does. */
  unavailable = false
  lists = 0

  asStore(): Store {
    return this as unknown as Store
  }

  async get(key: string): Promise<StoredValue | null> {
    this.check()
    const value = this.data.get(key)
    return value === undefined ? null : this.stored(key, value)
  }

  async list(prefix: string): Promise<Listing> {
    this.check()
    this.lists++
    const items = [...this.data].filter(([key]) => key.startsWith(prefix)).map(([key, value]) => this.stored(key, value))
    return {items, revision: this.rev}
  }

  async watchPrefix(prefix: string, _fromRevision: number, handlers: WatchHandlers): Promise<Watch> {
    const entry = {prefix, handlers, closed: false}
    this.watchers.push(entry)
    return {nextRevision: this.rev + 1, close: async () => void (entry.closed = true)}
  }

  put(key: string, value: string): void {
    this.data.set(key, value)
    this.emit({type: 'put', key, value, modRevision: ++this.rev, lease: null})
  }

  delete(key: string): void {
    this.data.delete(key)
    this.emit({type: 'delete', key, modRevision: ++this.rev})
  }

  /** Puts without telling the watches (as if the events were compacted away), then resyncs them. */
  putSilently(key: string, value: string): void {
    this.data.set(key, value)
    this.rev++
  }

  resync(): void {
    for (const watcher of this.live()) {
      const items = [...this.data].filter(([key]) => key.startsWith(watcher.prefix)).map(([key, value]) => this.stored(key, value))
      void watcher.handlers.onResync({items, revision: this.rev})
    }
  }

  connection(up: boolean): void {
    for (const watcher of this.live()) watcher.handlers.onConnectionChange?.(up)
  }

  private emit(event: WatchEvent): void {
    for (const watcher of this.live()) if (event.key.startsWith(watcher.prefix)) void watcher.handlers.onEvents([event], this.rev)
  }

  private live() {
    return this.watchers.filter((w) => !w.closed)
  }

  private check(): void {
    if (this.unavailable) throw new StoreUnavailableError('fake etcd unreachable')
  }

  private stored(key: string, value: string): StoredValue {
    return {key, value, createRevision: 1, modRevision: this.rev, version: 1, lease: null}
  }
}
