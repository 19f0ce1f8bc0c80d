import {StoreUnavailableError} from '../lib/errors.js'
import type {Logger} from '../lib/log.js'
import {retry} from '../lib/retry.js'
import type {Keys} from '../store/keys.js'
import type {Listing, Store, Watch, WatchEvent} from '../store/store.js'
import {type HealthStatus, type ServiceRegistration, parseHealth, parseRegistration} from '../svc/model.js'
import {Registry, type RegistryChange, emptyChange} from './registry.js'
import {releaseMemory} from './release-memory.js'

/**
 * Keys per range call when listing: registrations are a few hundred bytes, so 5,000 fit
 * well inside gRPC's 4 MB (the store halves a page that does not), in a fifth of the
 * round trips of the store's default.
 */
const LIST_PAGE_SIZE = 5000

/** A listing this big is followed by a full collection (see release-memory.ts). */
const COLLECT_AFTER_LISTING = 10_000

/** Retried from 0.5 s up to every 5 s while etcd is away at start. */
const LOAD_RETRY = {initialMs: 500, maxMs: 5000}

/**
 * Every registration and health record, kept in memory from two watches so a query
 * never reads etcd. While etcd is unreachable it keeps what it last knew. Each batch
 * of events tells the listeners what it changed (services, addresses), so answers
 * built from the rest stay cached.
 */
export class ServiceIndex {
  readonly registry = new Registry()
  private connected = {services: false, health: false}
  private followed = {services: false, health: false}
  private watches: Watch[] = []
  private listeners: ((change: RegistryChange) => void)[] = []
  private readonly stopping = new AbortController()
  private retrying: Promise<unknown> | undefined
  private logger: Logger | undefined

  constructor(private readonly store: Store, private readonly keys: Keys) {}

  /** Both watches connected: the registry is current. */
  get inSync(): boolean {
    return this.connected.services && this.connected.health
  }

  /** Whether the first listing arrived: until then the zone cannot be answered truthfully. */
  get loaded(): boolean {
    return this.followed.services && this.followed.health
  }

  onChange(listener: (change: RegistryChange) => void): void {
    this.listeners.push(listener)
  }

  /**
   * Lists and watches services and health. When etcd is unreachable at start it does not
   * fail: the server still forwards other names (it may be the host's only resolver),
   * and the index keeps trying in the background until etcd answers.
   */
  async start(logger?: Logger): Promise<void> {
    this.logger = logger
    try {
      await this.load()
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error
      logger?.warn('etcd unreachable at start: forwarding other names, SERVFAIL for the zone until etcd answers', {error: error.message})
      this.retrying = retry(() => this.load(), {
        policy: LOAD_RETRY,
        signal: this.stopping.signal,
        retryable: (e) => e instanceof StoreUnavailableError,
        onRetry: (e) => logger?.debug('etcd still unreachable', {error: (e as Error).message}),
      }).then(
        () => this.loaded && logger?.info('etcd reachable: serving the zone'),
        (e: Error) => logger?.error('cannot follow the services in etcd', {error: e.message}),
      )
    }
  }

  async close(): Promise<void> {
    this.stopping.abort()
    await this.retrying
    await Promise.all(this.watches.map((watch) => watch.close().catch(() => {})))
  }

  /**
   * Both listings at once: etcd reads one while this process parses the other. Health
   * that arrives first waits in the registry for its registration.
   */
  private async load(): Promise<void> {
    await Promise.all([
      this.followed.services ? undefined : this.follow('services', this.keys.servicesPrefix()),
      this.followed.health ? undefined : this.follow('health', this.keys.healthPrefix()),
    ])
  }

  /** "<namespace>/<name>/<id>" of a service or health key. */
  private ident(key: string): string | undefined {
    const parts = this.keys.instanceOf(key)
    return parts ? `${parts.namespace}/${parts.name}/${parts.id}` : undefined
  }

  private async follow(kind: 'services' | 'health', prefix: string): Promise<void> {
    const started = performance.now()
    const listing = await this.store.list(prefix, {pageSize: LIST_PAGE_SIZE})
    if (this.stopping.signal.aborted) return
    const listed = performance.now()
    const keys = listing.items.length
    this.replace(kind, listing)
    this.logger?.debug('listed', {prefix, keys, listMs: Math.round(listed - started), loadMs: Math.round(performance.now() - listed)})
    this.connected[kind] = true
    this.followed[kind] = true
    this.watches.push(
      await this.store.watchPrefix(prefix, listing.revision + 1, {
        onEvents: (events) => this.apply(kind, events),
        onResync: (fresh) => this.replace(kind, fresh),
        onConnectionChange: (up) => {
          this.connected[kind] = up
        },
      }),
    )
  }

  /**
   * A whole listing in place of what was known. Each item is parsed as the registry takes
   * it, and let go of at once: at 100,000 instances, holding every parsed registration
   * until the last was read cost a worker some 60 MB more at its peak.
   */
  private replace(kind: 'services' | 'health', listing: Listing): void {
    const change = emptyChange()
    const items = listing.items
    const big = items.length >= COLLECT_AFTER_LISTING
    const ident = (i: number) => this.ident(items[i]!.key)
    if (kind === 'services') {
      this.registry.replaceRegistrations(
        (function* parsed(): Generator<[string, ServiceRegistration]> {
          for (let i = 0; i < items.length; i++) {
            const id = ident(i)
            const registration = id ? parseRegistration(items[i]!.value) : undefined
            ;(items as unknown[])[i] = undefined
            if (id && registration) yield [id, registration]
          }
        })(),
        change,
      )
    } else {
      this.registry.replaceHealth(
        (function* parsed(): Generator<[string, HealthStatus]> {
          for (let i = 0; i < items.length; i++) {
            const id = ident(i)
            const status = id ? parseHealth(items[i]!.value)?.status : undefined
            ;(items as unknown[])[i] = undefined
            if (id && status) yield [id, status]
          }
        })(),
        change,
      )
    }
    this.notify(change)
    // after this turn of the event loop, when the listing is no longer referenced
    if (big) setImmediate(releaseMemory)
  }

  private apply(kind: 'services' | 'health', events: WatchEvent[]): void {
    const change = emptyChange()
    for (const event of events) {
      const ident = this.ident(event.key)
      if (!ident) continue
      if (kind === 'services') this.registry.putRegistration(ident, event.type === 'put' ? parseRegistration(event.value) : undefined, change)
      else this.registry.putHealth(ident, event.type === 'put' ? parseHealth(event.value)?.status : undefined, change)
    }
    this.notify(change)
  }

  private notify(change: RegistryChange): void {
    if (!change.all && !change.services.size && !change.addresses.size) return
    for (const listener of this.listeners) listener(change)
  }
}
