import type {Logger} from '../lib/log.js'
import {DEFAULT_RETRY, retry} from '../lib/retry.js'
import {isStoreUnavailable} from '../store/index.js'
import type {Keys} from '../store/keys.js'
import type {Listing, Store, Watch, WatchEvent} from '../store/store.js'
import {toRow} from './listing.js'
import {type HealthRecord, type ServiceRegistration, parseHealth, parseRegistration} from './model.js'
import {healthyOnly} from './resolve.js'

/** One instance of a watched set: what a client or a templated config needs. */
export interface WatchedInstance {
  id: string
  address: string
  port: number
  status: 'passing' | 'warning'
  weight: number
  node: string
  tags: string[]
  meta: Record<string, string>
}

export interface WatchedSet {
  namespace: string
  name: string
  instances: WatchedInstance[]
}

export interface WatchFilter {
  namespace: string
  name: string
  tags?: readonly string[]
  passingOnly?: boolean
}

/**
 * The healthy set of a service (passing and warning, or passing only; never an instance
 * in maintenance), filtered by tags, in id order. Pure.
 */
export function healthySet(registrations: ReadonlyMap<string, ServiceRegistration>, health: ReadonlyMap<string, HealthRecord>, filter: WatchFilter): WatchedSet {
  const rows = [...registrations.values()].map((r) => toRow(r, health.get(r.id))).filter((row) => !filter.tags || filter.tags.every((t) => row.tags.includes(t)))
  const instances = healthyOnly(rows, filter.passingOnly)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map(({id, address, port, status, weight, node, tags, meta}) => ({id, address, port, status: status as WatchedInstance['status'], weight, node, tags, meta}))
  return {namespace: filter.namespace, name: filter.name, instances}
}

export interface ServiceWatcherOptions {
  filter: WatchFilter
  /** Quiet time after a change before the set is computed again. */
  debounceMs: number
  /** A burst of changes that never goes quiet still reports at least this often. */
  maxWaitMs?: number
  logger: Logger
  /** Called with the set at start and whenever it changed (never twice in a row with the same set). */
  onSet: (set: WatchedSet) => void
}

/**
 * `svc watch`: follows one service's registrations and health records through two prefix
 * watches (only that service's keys), and reports its healthy set at start and after
 * every change, debounced. etcd unreachable at start: retried on the one policy; a
 * watch that loses its place (compaction) hands over a fresh listing, which replaces
 * what was known.
 */
export class ServiceWatcher {
  private readonly registrations = new Map<string, ServiceRegistration>()
  private readonly health = new Map<string, HealthRecord>()
  private readonly watches: Watch[] = []
  private timer: NodeJS.Timeout | undefined
  private firstChangeAt: number | undefined
  private last: string | undefined
  private closed = false

  constructor(private readonly store: Store, private readonly keys: Keys, private readonly options: ServiceWatcherOptions) {}

  /** Resolves once the first set was reported (or the signal stopped the attempts). */
  async start(signal: AbortSignal): Promise<void> {
    const {namespace, name} = this.options.filter
    const log = this.options.logger
    const loaded = await retry(async () => Promise.all([this.store.list(this.keys.servicesPrefix(namespace, name)), this.store.list(this.keys.healthPrefix(namespace, name))]), {
      signal,
      policy: DEFAULT_RETRY,
      retryable: isStoreUnavailable,
      onRetry: (error, delayMs) => log.warn('etcd unreachable; retrying', {error: (error as Error).message, inMs: delayMs}),
    })
    if (!loaded || this.closed) return
    const [services, health] = loaded
    this.replace('services', services)
    this.replace('health', health)
    this.report()
    for (const [kind, listing] of [['services', services], ['health', health]] as const) {
      const prefix = kind === 'services' ? this.keys.servicesPrefix(namespace, name) : this.keys.healthPrefix(namespace, name)
      this.watches.push(
        await this.store.watchPrefix(prefix, listing.revision + 1, {
          onEvents: (events) => this.apply(kind, events),
          onResync: (fresh) => {
            this.replace(kind, fresh)
            this.changed()
          },
          onConnectionChange: (up, error) => (up ? log.info('following the service again') : log.warn('lost the watch; reporting what is known', {error: error?.message})),
        }),
      )
    }
  }

  async stop(): Promise<void> {
    this.closed = true
    clearTimeout(this.timer)
    await Promise.all(this.watches.map((w) => w.close().catch(() => {})))
  }

  private replace(kind: 'services' | 'health', listing: Listing): void {
    const map = kind === 'services' ? this.registrations : this.health
    map.clear()
    this.apply(kind, listing.items.map((item) => ({type: 'put', key: item.key, value: item.value, modRevision: item.modRevision, lease: item.lease})), false)
  }

  private apply(kind: 'services' | 'health', events: readonly WatchEvent[], notify = true): void {
    for (const event of events) {
      const id = this.keys.instanceOf(event.key)?.id
      if (id === undefined) continue
      if (kind === 'services') {
        const registration = event.type === 'put' ? parseRegistration(event.value) : undefined
        if (registration) this.registrations.set(id, registration)
        else this.registrations.delete(id)
      } else {
        const record = event.type === 'put' ? parseHealth(event.value) : undefined
        if (record) this.health.set(id, record)
        else this.health.delete(id)
      }
    }
    if (notify) this.changed()
  }

  /** Debounced: the set is computed once things have been quiet for debounceMs (or maxWaitMs passed). */
  private changed(): void {
    if (this.closed) return
    const now = Date.now()
    this.firstChangeAt ??= now
    const maxWait = this.options.maxWaitMs ?? this.options.debounceMs * 5
    const wait = Math.max(0, Math.min(this.options.debounceMs, this.firstChangeAt + maxWait - now))
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.firstChangeAt = undefined
      this.report()
    }, wait)
  }

  private report(): void {
    if (this.closed) return
    const set = healthySet(this.registrations, this.health, this.options.filter)
    const text = JSON.stringify(set)
    if (text === this.last) return
    this.last = text
    this.options.onSet(set)
  }
}
