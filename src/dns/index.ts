import {StoreUnavailableError} from '../lib/errors.js'
import type {Logger} from '../lib/log.js'
import {retry} from '../lib/retry.js'
import {type Keys, isIdentAt} from '../store/keys.js'
import {type KeyValues, type Store, type Watch, type WatchEvent, type WatchHandlers, keyValuesOf} from '../store/store.js'
import {healthStatusOfBytes} from '../svc/health-status-bytes.js'
import {parseHealthStatus, parseStoredRegistration} from '../svc/model.js'
import {type HealthCode, ListedInstances, Registry, type RegistryChange, emptyChange, healthCode} from './registry.js'
import {releaseMemory} from './release-memory.js'

/** A listing this big is followed by a full collection (see release-memory.ts). */
const COLLECT_AFTER_LISTING = 10_000

/** How long each turn of the background parsing may hold the event loop: queries wait at most this. */
const PARSE_SLICE_MS = 5

/** Retried from 0.5 s up to every 5 s while etcd is away at start. */
const LOAD_RETRY = {initialMs: 500, maxMs: 5000}

/**
 * Every registration and health record, kept in memory from two watches so a query
 * never reads etcd. While etcd is unreachable it keeps what it last knew. Each batch
 * of events tells the listeners what it changed (services, addresses), so answers
 * built from the rest stay cached.
 */
/** One listing of a prefix as it is read: compact instances, or health by ident. */
class Staged {
  readonly instances: ListedInstances
  readonly health = new Map<string, HealthCode>()
  constructor(readonly kind: 'services' | 'health', parseLazily: boolean) {
    this.instances = new ListedInstances(parseLazily)
  }
}

export interface ServiceIndexOptions {
  /**
   * Registrations listed are parsed when a query first needs them, and the rest in the
   * background once the server answers (the default: the first answer comes sooner);
   * false parses each as it is read (a lower peak of memory, for a worker that joins a
   * pool already answering).
   */
  parseLazily?: boolean
}

export class ServiceIndex {
  readonly registry = new Registry()
  private connected = {services: false, health: false}
  private followed = {services: false, health: false}
  private watches: Watch[] = []
  private listeners: ((change: RegistryChange) => void)[] = []
  private readonly stopping = new AbortController()
  private retrying: Promise<unknown> | undefined
  private starting: Promise<void> | undefined
  /** Keys listed since the last full collection was asked for. */
  private listedSinceCollection = 0
  private logger: Logger | undefined
  /** The next turn of the background parsing, while one is due. */
  private parsingTurn: NodeJS.Immediate | undefined
  /** Set by answering(): the server answers queries. */
  private serving = false
  /** A listing big enough to collect after is waiting to be parsed. */
  private collectAfterParsing = false

  private readonly parseLazily: boolean

  constructor(private readonly store: Store, private readonly keys: Keys, options: ServiceIndexOptions = {}) {
    this.parseLazily = options.parseLazily ?? true
    this.registry.onLateChange = (change) => this.notify(change)
  }

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
  start(logger?: Logger): Promise<void> {
    // Once: a worker starts loading before the server that awaits it is even imported.
    this.starting ??= this.startLoading(logger)
    return this.starting
  }

  private async startLoading(logger?: Logger): Promise<void> {
    this.logger = logger
    try {
      await this.load()
    } catch (error) {
      // Closed while listing (the server stopped as it started): nothing to tell or retry.
      if (this.stopping.signal.aborted) return
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
    if (this.parsingTurn) clearImmediate(this.parsingTurn)
    await this.retrying
    await Promise.all(this.watches.map((watch) => watch.close().catch(() => {})))
  }

  /**
   * Both listings at once: etcd reads one while this process parses the other. Health
   * that arrives first waits in the registry for its registration.
   */
  private async load(): Promise<void> {
    try {
      await Promise.all([
        this.followed.services ? undefined : this.follow('services', this.keys.servicesPrefix()),
        this.followed.health ? undefined : this.follow('health', this.keys.healthPrefix()),
      ])
    } finally {
      // One collection once both are in (or one failed), not one per listing in the middle of
      // the other; when registrations are left to parse, once they are (the values listed
      // are garbage only then), and not before the first answer.
      const collect = this.listedSinceCollection >= COLLECT_AFTER_LISTING
      this.listedSinceCollection = 0
      if (this.loaded && this.registry.parsing) this.collectAfterParsing ||= collect
      else if (collect) setImmediate(releaseMemory)
    }
    if (this.serving) this.parseInBackground()
  }

  /**
   * The server answers queries now: what is left of the listing is parsed in the
   * background from here on (or from when the listing is in, if it is not yet). Not
   * before: its turns would hold up binding the sockets and telling the primary.
   */
  answering(): void {
    this.serving = true
    this.parseInBackground()
  }

  /**
   * Parses the registrations no query has asked for yet, a few milliseconds per turn of
   * the event loop so queries are answered in between. A big registry's listed values
   * are let go with a collection when it is done.
   */
  private parseInBackground(): void {
    if (!this.loaded || !this.registry.parsing || this.parsingTurn) return
    // Either the listings were big (counted as they came) or what is left to parse is.
    const collect = this.collectAfterParsing || this.registry.unparsedCount >= COLLECT_AFTER_LISTING
    this.collectAfterParsing = false
    const turn = (): void => {
      const more = this.registry.parseSome(PARSE_SLICE_MS)
      this.parsingTurn = more && !this.stopping.signal.aborted ? setImmediate(turn) : undefined
      if (!more && collect) releaseMemory()
    }
    this.parsingTurn = setImmediate(turn)
  }

  /** Lists and then watches one prefix. */
  private async follow(kind: 'services' | 'health', prefix: string): Promise<void> {
    const started = performance.now()
    const {staged, keys, revision} = await this.listStaged(kind, prefix)
    if (this.stopping.signal.aborted) return
    const listed = performance.now()
    this.replace(staged)
    this.listedSinceCollection += keys
    this.logger?.debug('listed', {prefix, keys, listMs: Math.round(listed - started), loadMs: Math.round(performance.now() - listed)})
    this.connected[kind] = true
    this.followed[kind] = true
    this.watches.push(await this.store.watchPrefix(prefix, revision + 1, this.watchHandlers(kind)))
  }

  /**
   * The watch's handlers. A resync (the watch's place was compacted away) reads the
   * prefix again page by page into a staging of its own, parsed as it is read: the
   * server answers from what it knew meanwhile, so there is no first answer to hurry,
   * and no listed value is held. (Made here, apart from the first listing's staging, so
   * as not to keep it alive.)
   */
  private watchHandlers(kind: 'services' | 'health'): WatchHandlers {
    let restaged = new Staged(kind, false)
    let keys = 0
    return {
      onEvents: (events) => this.apply(kind, events),
      onResyncPage: (items, first) => {
        if (first) [restaged, keys] = [new Staged(kind, false), 0]
        keys += this.stage(restaged, keyValuesOf(items))
      },
      onResync: () => {
        this.replace(restaged)
        restaged = new Staged(kind, false)
        if (keys >= COLLECT_AFTER_LISTING) setImmediate(releaseMemory)
        keys = 0
      },
      onConnectionChange: (up) => {
        this.connected[kind] = up
      },
    }
  }

  /**
   * The prefix listed and staged page by page: each page is parsed while etcd reads the
   * next one, and only the small records are kept. (A function of its own so that the
   * watch's handlers, made in follow(), share no closure with the staging and do not
   * keep it alive.)
   */
  private async listStaged(kind: 'services' | 'health', prefix: string): Promise<{staged: Staged; keys: number; revision: number}> {
    let staged = new Staged(kind, this.parseLazily)
    let keys = 0
    const {revision} = await this.store.list(prefix, {
      onKeyValues: (page, first) => {
        if (first) [staged, keys] = [new Staged(kind, this.parseLazily), 0]
        keys += this.stage(staged, page)
      },
    })
    return {staged, keys, revision}
  }

  /** Stages listed items; what is not a registration (or health record) is left out. Returns how many it read. */
  private stage(staged: Staged, page: KeyValues): number {
    const {instances} = staged
    // Each key's tail after the prefix listed is its ident, made as it is kept: a slice of
    // the whole key would keep the key alive, 100,000 of them through a fleet's load.
    const prefixBytes = Buffer.byteLength(staged.kind === 'services' ? this.keys.servicesPrefix() : this.keys.healthPrefix())
    if (staged.kind === 'services' && instances.lazy) {
      return page.forEachBytes((ident, bytes, start, end) => {
        if (isIdentAt(ident)) instances.add(ident, bytes, start, end)
      }, prefixBytes)
    }
    if (staged.kind === 'services') {
      return page.forEach((key, value) => {
        const ident = this.keys.instanceIdentOf(key)
        if (ident) instances.addParsed(ident, value)
      })
    }
    return page.forEachBytes((ident, bytes, start, end) => {
      const status = isIdentAt(ident) && healthStatusOfBytes(bytes, start, end)
      if (status) staged.health.set(ident, healthCode(status))
    }, prefixBytes)
  }

  /** A whole listing, staged, in place of what was known. */
  private replace(staged: Staged): void {
    const change = emptyChange()
    if (staged.kind === 'services') this.registry.replaceRegistrations(staged.instances, change)
    else this.registry.replaceHealth(staged.health, change)
    this.notify(change)
  }

  private apply(kind: 'services' | 'health', events: WatchEvent[]): void {
    const change = emptyChange()
    for (const event of events) {
      const ident = this.keys.instanceIdentOf(event.key)
      if (!ident) continue
      if (kind === 'services') this.registry.putRegistration(ident, event.type === 'put' ? parseStoredRegistration(event.value) : undefined, change)
      else this.registry.putHealth(ident, event.type === 'put' ? parseHealthStatus(event.value) : undefined, change)
    }
    this.notify(change)
  }

  private notify(change: RegistryChange): void {
    if (!change.all && !change.services.size && !change.addresses.size) return
    for (const listener of this.listeners) listener(change)
  }
}
