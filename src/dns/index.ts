import {StoreUnavailableError} from '../lib/errors.js'
import type {Logger} from '../lib/log.js'
import type {Keys} from '../store/keys.js'
import type {Listing, Store, Watch, WatchEvent} from '../store/store.js'
import {type HealthRecord, type ServiceRegistration, parseHealth, parseRegistration} from '../svc/model.js'

/**
 * Every registration and health record, kept in memory from two watches so a query
 * never reads etcd. While etcd is unreachable it keeps what it last knew.
 */
export class ServiceIndex {
  readonly services = new Map<string, ServiceRegistration>()
  readonly health = new Map<string, HealthRecord>()
  /** Bumped on every change; answer caches compare it. */
  generation = 0
  private connected = {services: false, health: false}
  private watches: Watch[] = []
  private listeners: (() => void)[] = []

  constructor(private readonly store: Store, private readonly keys: Keys) {}

  get inSync(): boolean {
    return this.connected.services && this.connected.health
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener)
  }

  /** Whether the first listing arrived: until then the zone cannot be answered truthfully. */
  get loaded(): boolean {
    return this.followed.services && this.followed.health
  }

  /**
   * Lists and watches services and health. When etcd is unreachable at start it does not
   * fail: the server still forwards other names (it may be the host's only resolver),
   * and the index keeps trying in the background until etcd answers.
   */
  async start(logger?: Logger): Promise<void> {
    try {
      await this.load()
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error
      logger?.warn('etcd unreachable at start: forwarding other names, SERVFAIL for the zone until etcd answers', {error: error.message})
      this.retrying = this.retryUntilLoaded(logger)
    }
  }

  async close(): Promise<void> {
    this.closed = true
    await this.retrying
    await Promise.all(this.watches.map((watch) => watch.close().catch(() => {})))
  }

  private followed = {services: false, health: false}
  private closed = false
  private retrying: Promise<void> | undefined

  private async load(): Promise<void> {
    if (!this.followed.services) await this.follow('services', this.keys.servicesPrefix(), this.services, parseRegistration)
    if (!this.followed.health) await this.follow('health', this.keys.healthPrefix(), this.health, parseHealth)
  }

  private async retryUntilLoaded(logger?: Logger): Promise<void> {
    for (let delay = 500; !this.closed && !this.loaded; delay = Math.min(delay * 2, 5000)) {
      await new Promise((resolve) => setTimeout(resolve, delay))
      if (this.closed) return
      try {
        await this.load()
        logger?.info('etcd reachable: serving the zone')
      } catch (error) {
        logger?.debug('etcd still unreachable', {error: (error as Error).message})
      }
    }
  }

  private async follow<T>(kind: 'services' | 'health', prefix: string, map: Map<string, T>, parse: (text: string) => T | undefined): Promise<void> {
    const ident = (key: string) => {
      const parts = this.keys.instanceOf(key)
      return parts ? `${parts.namespace}/${parts.name}/${parts.id}` : undefined
    }
    const replace = (listing: Listing) => {
      map.clear()
      for (const item of listing.items) {
        const id = ident(item.key)
        const value = parse(item.value)
        if (id && value) map.set(id, value)
      }
      this.changed()
    }
    const apply = (events: WatchEvent[]) => {
      for (const event of events) {
        const id = ident(event.key)
        if (!id) continue
        const value = event.type === 'put' ? parse(event.value) : undefined
        if (value) map.set(id, value)
        else map.delete(id)
      }
      this.changed()
    }
    const listing = await this.store.list(prefix)
    replace(listing)
    this.connected[kind] = true
    this.followed[kind] = true
    this.watches.push(
      await this.store.watchPrefix(prefix, listing.revision + 1, {
        onEvents: apply,
        onResync: replace,
        onConnectionChange: (up) => {
          this.connected[kind] = up
        },
      }),
    )
  }

  private changed(): void {
    this.generation++
    for (const listener of this.listeners) listener()
  }
}
