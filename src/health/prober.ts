import type {Logger} from '../lib/log.js'
import {isStoreUnavailable} from '../store/index.js'
import type {Keys} from '../store/keys.js'
import type {Listing, Store, StoredValue, Watch, WatchEvent} from '../store/store.js'
import {type HealthRecord, type HealthStatus, type ServiceRegistration, parseHealth, parseRegistration} from '../svc/model.js'
import {ensureNodeIndex} from '../svc/node-index.js'
import {removalOps} from '../svc/registry.js'
import {type ActiveCheck, decideProbe, deregisterDue, follow, ttlDeadlineIntervalMs, ttlDeadlineStep} from './decisions.js'
import {HealthWriter} from './health-writer.js'
import type {CheckResult} from './result.js'
import {runCheck} from './run-check.js'
import {Scheduler} from './scheduler.js'
import {type ThresholdState, initialState} from './thresholds.js'

export interface ProberOptions {
  /** Runs the checks of instances registered with this node. */
  node: string
  concurrency: number
  enableExecChecks: boolean
  /** TTL of the etcd lease the health records are written under. */
  leaseTtlSeconds: number
  logger: Logger
  random?: () => number
  /** Called as each probe starts, with how late it is (the benchmark and the metrics count these). */
  onProbeStart?: (lateMs: number) => void
  /** Called as each probe ends. */
  onProbe?: (check: ActiveCheck['type'], status: HealthStatus, durationMs: number) => void
  now?: () => Date
}

/** One instance of this node, as the prober knows it. */
interface Instance {
  ident: string
  registration: ServiceRegistration
  /** Mod revision of its index entry: a deregistration applies only to what was seen. */
  modRevision: number
  healthKey: string
  /** Its entry in this node's index: a health record is written only while it exists. */
  indexKey: string
  /** Set while a deregistration is under way, so it is not attempted twice. */
  deregistering: boolean
}

interface Probed extends Instance {
  check: ActiveCheck
  checkJson: string
  state: ThresholdState
  /** The record as last handed to the writer (or found in etcd at start). */
  record: HealthRecord | undefined
}

interface TtlDeadline extends Instance {
  afterMs: number
  criticalSince: number | undefined
}

export interface ProberStats {
  instances: number
  probes: number
  writes: number
  /** Results not written because the instance was no longer in this node's index. */
  droppedWrites: number
  pendingWrites: number
  skipped: number
  running: number
  queued: number
  /** Index events the watch delivered: only this node's instances. */
  watchEvents: number
  /** Failures that were not etcd being away (logged with their stack at debug). */
  errors: number
}

/** Health records read at once at start (one `get` each: there is no per-node health prefix). */
const PARALLEL_READS = 32

/**
 * `cnet health run`: lists and watches its own node's entries of the per-node index
 * (never the whole registry), probes each active check on its schedule, and writes a
 * health record only when the published status (or its output) changes. Keeps probing
 * while etcd is down. Its decisions are pure functions (decisions.ts); this class feeds
 * them and carries them out.
 */
export class Prober {
  private readonly probed = new Map<string, Probed>()
  /** TTL-checked instances with deregisterCriticalAfter: nothing to probe, only a deadline to keep. */
  private readonly ttlDeadlines = new Map<string, TtlDeadline>()
  private readonly scheduler: Scheduler
  private watch: Watch | undefined
  private probes = 0
  private watchEvents = 0
  private errors = 0
  private readonly log: Logger
  private readonly now: () => Date
  private fatal: ((error: Error) => void) | undefined
  /** Rejects when the prober cannot go on (etcd refuses its credentials); never resolves. */
  readonly failed: Promise<never>

  private constructor(
    private readonly store: Store,
    private readonly keys: Keys,
    private readonly options: ProberOptions,
    private writer: HealthWriter,
  ) {
    this.log = options.logger
    this.now = options.now ?? (() => new Date())
    this.failed = new Promise<never>((_, reject) => (this.fatal = reject))
    this.failed.catch(() => {})
    this.scheduler = new Scheduler({
      concurrency: options.concurrency,
      random: options.random,
      onStart: options.onProbeStart ? (_, late) => options.onProbeStart!(late) : undefined,
      onError: (id, error) => this.surface('a scheduled task failed', error, {task: id}),
    })
  }

  static async start(store: Store, keys: Keys, options: ProberOptions): Promise<Prober> {
    await ensureNodeIndex(store, keys, options.node, options.logger)
    let prober: Prober | undefined
    const writer = await HealthWriter.start(store, options.leaseTtlSeconds, {logger: options.logger, onFatal: (error) => prober?.fail(error)})
    prober = new Prober(store, keys, options, writer)
    try {
      const listing = await store.list(keys.nodeIndexPrefix(options.node))
      await prober.replaceAll(listing)
      prober.watch = await store.watchPrefix(keys.nodeIndexPrefix(options.node), listing.revision + 1, {
        onEvents: (events) => prober!.apply(events),
        onResync: (fresh) => prober!.replaceAll(fresh),
        onConnectionChange: (up, error) => {
          if (up) options.logger.info('following registrations again')
          else options.logger.warn('lost the registrations watch; probing what is known', {error: error?.message})
        },
      })
    } catch (error) {
      await prober.stop()
      throw error
    }
    options.logger.info('probing', {node: options.node, instances: prober.probed.size, lease: writer.leaseId, leaseTtlSeconds: options.leaseTtlSeconds})
    return prober
  }

  stats(): ProberStats {
    const s = this.scheduler.snapshot()
    return {
      instances: this.probed.size,
      probes: this.probes,
      writes: this.writer.writes,
      droppedWrites: this.writer.dropped,
      pendingWrites: this.writer.backlog,
      skipped: s.skipped,
      running: s.running,
      queued: s.queued,
      watchEvents: this.watchEvents,
      errors: this.errors + this.writer.errors,
    }
  }

  /** How many probed instances publish each status now (for the metrics). */
  statusCounts(): Record<HealthStatus, number> {
    const counts: Record<HealthStatus, number> = {passing: 0, warning: 0, critical: 0}
    for (const p of this.probed.values()) counts[p.record?.status ?? 'critical']++
    return counts
  }

  /**
   * Stops probing and writes what is pending. The records stay until the lease
   * expires (so a restart within the TTL does not flap every instance), unless revoke.
   */
  async stop(options: {revoke?: boolean} = {}): Promise<void> {
    await this.watch?.close()
    await this.scheduler.stop()
    await this.writer.stop(options)
  }

  private fail(error: Error): void {
    this.log.error('cannot go on', {error: error.message})
    this.log.debug('fatal error', {stack: error.stack})
    this.fatal?.(error)
  }

  /** A failure that is not etcd being away: logged with its stack at debug, and counted. */
  private surface(what: string, error: unknown, fields: Record<string, unknown> = {}): void {
    this.errors++
    this.log.error(what, {...fields, error: (error as Error)?.message ?? String(error)})
    this.log.debug(what, {...fields, stack: (error as Error)?.stack})
  }

  /** Awaited by the watch, so events stay in order while a new instance's record is read. */
  private async apply(events: WatchEvent[]): Promise<void> {
    this.watchEvents += events.length
    for (const event of events) {
      const parts = this.keys.nodeIndexOf(event.key)
      if (!parts || parts.node !== this.options.node) continue
      const ident = `${parts.namespace}/${parts.name}/${parts.id}`
      const registration = event.type === 'put' ? parseRegistration(event.value) : undefined
      try {
        if (registration) await this.upsert(ident, registration, event.modRevision, undefined)
        else this.untrack(ident, 'deregistered')
      } catch (error) {
        this.surface('could not follow a registration change', error, {instance: ident})
      }
    }
  }

  /** At start and after a compaction: the listing is the whole truth for this node. */
  private async replaceAll(listing: Listing): Promise<void> {
    const entries: {ident: string; registration: ServiceRegistration; item: StoredValue}[] = []
    for (const item of listing.items) {
      const parts = this.keys.nodeIndexOf(item.key)
      const registration = parseRegistration(item.value)
      if (parts && registration) entries.push({ident: `${parts.namespace}/${parts.name}/${parts.id}`, registration, item})
    }
    const records = await this.readHealth(entries.filter((e) => !this.probed.has(e.ident) && follow(this.options.node, e.registration).kind === 'probe').map((e) => e.registration))
    const seen = new Set<string>()
    for (const {ident, registration, item} of entries) {
      seen.add(ident)
      await this.upsert(ident, registration, item.modRevision, records.get(ident) ?? null)
    }
    for (const ident of [...this.probed.keys(), ...this.ttlDeadlines.keys()]) if (!seen.has(ident)) this.untrack(ident, 'deregistered')
  }

  /** The health records of instances about to be probed, read a few at a time. */
  private async readHealth(registrations: ServiceRegistration[]): Promise<Map<string, HealthRecord>> {
    const records = new Map<string, HealthRecord>()
    for (let start = 0; start < registrations.length; start += PARALLEL_READS) {
      await Promise.all(
        registrations.slice(start, start + PARALLEL_READS).map(async ({namespace, name, id}) => {
          const stored = await this.store.get(this.keys.health(namespace, name, id))
          const record = stored ? parseHealth(stored.value) : undefined
          if (record) records.set(`${namespace}/${name}/${id}`, record)
        }),
      )
    }
    return records
  }

  /**
   * The health record of an instance this prober is about to start probing: the one
   * `svc register --initial-status` wrote, which its thresholds start from (as Consul's
   * initial status does), or the last prober's. Unreadable or absent: none, and probing
   * starts from critical.
   */
  private async healthOf(registration: ServiceRegistration): Promise<HealthRecord | undefined> {
    try {
      return (await this.readHealth([registration])).get(`${registration.namespace}/${registration.name}/${registration.id}`)
    } catch (error) {
      if (!isStoreUnavailable(error)) this.surface('could not read a health record', error, {instance: registration.id})
      return undefined
    }
  }

  /** `found`: the record read for it already (null: read, none), or undefined to read it if needed. */
  private async upsert(ident: string, registration: ServiceRegistration, modRevision: number, found: HealthRecord | null | undefined): Promise<void> {
    const plan = follow(this.options.node, registration)
    const healthKey = this.keys.health(registration.namespace, registration.name, registration.id)
    const indexKey = this.keys.nodeIndex(this.options.node, registration.namespace, registration.name, registration.id)
    const base: Instance = {ident, registration, modRevision, healthKey, indexKey, deregistering: false}
    if (plan.kind !== 'ttl-deadline') this.dropTtlDeadline(ident)
    if (plan.kind === 'none') return this.untrack(ident, plan.why)
    if (plan.kind === 'ttl-deadline') {
      this.untrack(ident, 'no active check')
      return this.followTtlDeadline(base, plan.afterMs)
    }
    const existing = this.probed.get(ident)
    const checkJson = JSON.stringify(plan.check)
    if (existing && existing.checkJson === checkJson) {
      existing.registration = registration
      existing.modRevision = modRevision
      return
    }
    const record = existing?.record ?? (found === undefined ? await this.healthOf(registration) : (found ?? undefined))
    if (this.probed.get(ident) !== existing) return // changed again while the record was read
    const probed: Probed = {
      ...base,
      check: plan.check,
      checkJson,
      // Thresholds start from the published status: a prober restart does not reset health.
      state: existing?.state ?? initialState(record?.status ?? 'critical'),
      record,
    }
    this.probed.set(ident, probed)
    // A record found is taken over under this prober's lease at once, so the previous
    // prober's lease expiring cannot take it away.
    if (record && !existing) this.writer.put(healthKey, JSON.stringify({...record, prober: this.options.node}), probed.indexKey)
    this.scheduler.add(ident, plan.check.intervalMs, async (stop) => {
      const started = performance.now()
      const result = await runCheck(plan.check, {enableExec: this.options.enableExecChecks, stop})
      if (stop.aborted || this.probed.get(ident) !== probed) return
      this.options.onProbe?.(plan.check.type, result.status, performance.now() - started)
      this.onResult(probed, result)
    })
    this.log.debug(existing ? 'check changed' : 'tracking', {instance: ident, check: plan.check.type, intervalMs: plan.check.intervalMs})
  }

  private untrack(ident: string, why: string): void {
    this.dropTtlDeadline(ident)
    const probed = this.probed.get(ident)
    if (!probed) return
    this.probed.delete(ident)
    this.scheduler.remove(ident)
    this.writer.remove(probed.healthKey)
    this.log.info('stopped probing', {instance: ident, reason: why})
  }

  private onResult(probed: Probed, result: CheckResult): void {
    this.probes++
    const decision = decideProbe(probed.state, probed.record, result, probed.check, this.options.node, this.now())
    probed.state = decision.state
    if (decision.publish) {
      const previous = probed.record
      probed.record = decision.publish
      this.writer.put(probed.healthKey, JSON.stringify(decision.publish), probed.indexKey)
      if (decision.statusChanged) this.log.info('status changed', {instance: probed.ident, from: previous?.status ?? 'none', to: decision.publish.status, output: decision.publish.output.slice(0, 200)})
    }
    if (!probed.deregistering && deregisterDue(probed.check.deregisterCriticalAfterMs, probed.record, this.now().getTime())) {
      void this.deregister(probed, probed.record!.since, () => this.untrack(probed.ident, 'deregistered after being critical'))
    }
  }

  /**
   * Removes an instance critical for too long: registration, index entry and health record
   * in one transaction, and only if its index entry is still the one seen (a re-registration
   * meanwhile wins). `done` runs once it is gone; a failure leaves it to the next probe.
   */
  private async deregister(instance: Instance, since: string, done: () => void): Promise<void> {
    instance.deregistering = true
    this.log.warn('critical for too long: deregistering', {instance: instance.ident, since})
    try {
      const {succeeded} = await this.store.transaction(removalOps(this.keys, instance.registration), [{key: instance.indexKey, modRevision: instance.modRevision}])
      if (succeeded) {
        this.writer.forget(instance.healthKey)
        done()
      }
    } catch (error) {
      if (!isStoreUnavailable(error)) this.surface('could not deregister', error, {instance: instance.ident})
    } finally {
      instance.deregistering = false
    }
  }

  private followTtlDeadline(instance: Instance, afterMs: number): void {
    const current = this.ttlDeadlines.get(instance.ident)
    if (current && current.afterMs === afterMs) {
      current.registration = instance.registration
      current.modRevision = instance.modRevision
      return
    }
    const deadline: TtlDeadline = {...instance, afterMs, criticalSince: undefined}
    this.ttlDeadlines.set(instance.ident, deadline)
    this.scheduler.add(`ttl:${instance.ident}`, ttlDeadlineIntervalMs(afterMs), () => this.checkTtlDeadline(deadline))
  }

  private dropTtlDeadline(ident: string): void {
    if (!this.ttlDeadlines.delete(ident)) return
    this.scheduler.remove(`ttl:${ident}`)
  }

  private async checkTtlDeadline(deadline: TtlDeadline): Promise<void> {
    let record: HealthRecord | undefined
    try {
      const stored = await this.store.get(deadline.healthKey)
      record = stored ? parseHealth(stored.value) : undefined
    } catch (error) {
      if (!isStoreUnavailable(error)) this.surface('could not read a health record', error, {instance: deadline.ident})
      return // decide nothing without it
    }
    if (this.ttlDeadlines.get(deadline.ident) !== deadline || deadline.deregistering) return
    const next = ttlDeadlineStep(deadline.criticalSince, record, deadline.afterMs, this.now().getTime())
    deadline.criticalSince = next.criticalSince
    if (next.deregister) await this.deregister(deadline, new Date(next.criticalSince!).toISOString(), () => this.dropTtlDeadline(deadline.ident))
  }
}
