import type {Logger} from '../lib/log.js'
import {isStoreUnavailable} from '../store/index.js'
import type {Keys} from '../store/keys.js'
import type {StoredValue, Store, Watch, WatchEvent} from '../store/store.js'
import {type HealthRecord, type ServiceRegistration, parseHealth, parseRegistration} from '../svc/model.js'
import {HealthWriter} from './health-writer.js'
import type {CheckResult} from './result.js'
import {type ActiveCheck, runCheck} from './run-check.js'
import {Scheduler} from './scheduler.js'
import {type ThresholdState, initialState, step} from './thresholds.js'

export interface ProberOptions {
  /** Runs the checks of instances registered with this node. */
  node: string
  concurrency: number
  enableExecChecks: boolean
  /** TTL of the etcd lease the health records are written under. */
  leaseTtlSeconds: number
  logger: Logger
  random?: () => number
  /** Called as each probe starts, with how late it is (the benchmark counts these). */
  onProbeStart?: (lateMs: number) => void
}

interface Tracked {
  ident: string
  serviceKey: string
  healthKey: string
  registration: ServiceRegistration
  check: ActiveCheck
  checkJson: string
  state: ThresholdState
  /** The record as last handed to the writer (or found in etcd at start). */
  record: HealthRecord | undefined
  /** Set when a deregistration is under way, so it is not attempted twice. */
  deregistering: boolean
}

interface TtlDeadline {
  ident: string
  serviceKey: string
  healthKey: string
  afterMs: number
  /** When this prober first saw the instance critical (or the record's own `since`). */
  criticalSince: number | undefined
  deregistering: boolean
}

export interface ProberStats {
  instances: number
  probes: number
  writes: number
  pendingWrites: number
  skipped: number
  running: number
  queued: number
}

/**
 * `cnet health run`: follows the registrations of its node through a watch, probes
 * each active check on its schedule, and writes a health record only when the
 * published status (or its output) changes. Keeps probing while etcd is down.
 */
export class Prober {
  private readonly tracked = new Map<string, Tracked>()
  /** TTL-checked instances of this node with --deregister-critical-after: nothing to probe, only a deadline to keep. */
  private readonly ttlDeadlines = new Map<string, TtlDeadline>()
  private readonly scheduler: Scheduler
  private watch: Watch | undefined
  private probes = 0
  private readonly log: Logger

  private constructor(
    private readonly store: Store,
    private readonly keys: Keys,
    private readonly options: ProberOptions,
    private readonly writer: HealthWriter,
  ) {
    this.log = options.logger
    this.scheduler = new Scheduler({
      concurrency: options.concurrency,
      random: options.random,
      onStart: options.onProbeStart ? (_, late) => options.onProbeStart!(late) : undefined,
    })
  }

  static async start(store: Store, keys: Keys, options: ProberOptions): Promise<Prober> {
    const writer = await HealthWriter.start(store, options.leaseTtlSeconds, options.logger)
    const prober = new Prober(store, keys, options, writer)
    try {
      const [services, health] = await Promise.all([store.list(keys.servicesPrefix()), store.list(keys.healthPrefix())])
      const records = new Map<string, HealthRecord>()
      for (const item of health.items) {
        const record = parseHealth(item.value)
        const parts = keys.instanceOf(item.key)
        if (record && parts) records.set(`${parts.namespace}/${parts.name}/${parts.id}`, record)
      }
      prober.replaceAll(services.items, records)
      prober.watch = await store.watchPrefix(keys.servicesPrefix(), services.revision + 1, {
        onEvents: (events) => prober.apply(events),
        onResync: (listing) => prober.replaceAll(listing.items),
        onConnectionChange: (up, error) => {
          if (up) options.logger.info('following registrations again')
          else options.logger.warn('lost the registrations watch; probing what is known', {error: error?.message})
        },
      })
    } catch (error) {
      await prober.stop()
      throw error
    }
    options.logger.info('probing', {node: options.node, instances: prober.tracked.size, lease: writer.leaseId, leaseTtlSeconds: options.leaseTtlSeconds})
    return prober
  }

  stats(): ProberStats {
    const s = this.scheduler.snapshot()
    return {instances: this.tracked.size, probes: this.probes, writes: this.writer.writes, pendingWrites: this.writer.backlog, skipped: s.skipped, running: s.running, queued: s.queued}
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

  /** Awaited by the watch, so events stay in order while a new instance's record is read. */
  private async apply(events: WatchEvent[]): Promise<void> {
    for (const event of events) {
      const parts = this.keys.instanceOf(event.key)
      if (!parts) continue
      const ident = `${parts.namespace}/${parts.name}/${parts.id}`
      const registration = event.type === 'put' ? parseRegistration(event.value) : undefined
      if (registration) this.upsert(ident, event.key, registration, await this.healthOfNewInstance(ident, registration, this.keys.health(parts.namespace, parts.name, parts.id)))
      else this.untrack(ident, 'deregistered')
    }
  }

  /**
   * The health record of an instance this prober is about to start probing: the one
   * `svc register --initial-status` wrote, which its thresholds start from (as Consul's
   * initial status does). Unreadable or absent: none, and probing starts from critical.
   */
  private async healthOfNewInstance(ident: string, registration: ServiceRegistration, healthKey: string): Promise<HealthRecord | undefined> {
    if (this.tracked.has(ident) || registration.node !== this.options.node || !registration.check || registration.check.type === 'ttl') return undefined
    try {
      const stored = await this.store.get(healthKey)
      return stored ? parseHealth(stored.value) : undefined
    } catch {
      return undefined
    }
  }

  private replaceAll(items: StoredValue[], records?: Map<string, HealthRecord>): void {
    const seen = new Set<string>()
    for (const item of items) {
      const parts = this.keys.instanceOf(item.key)
      const registration = parseRegistration(item.value)
      if (!parts || !registration) continue
      const ident = `${parts.namespace}/${parts.name}/${parts.id}`
      seen.add(ident)
      this.upsert(ident, item.key, registration, records?.get(ident))
    }
    for (const ident of [...this.tracked.keys()]) if (!seen.has(ident)) this.untrack(ident, 'deregistered')
  }

  private upsert(ident: string, serviceKey: string, registration: ServiceRegistration, found: HealthRecord | undefined): void {
    const check = registration.check
    if (registration.node === this.options.node && check?.type === 'ttl') {
      this.untrack(ident, 'no active check')
      this.followTtlDeadline(ident, serviceKey, check.deregisterCriticalAfterMs)
      return
    }
    this.dropTtlDeadline(ident)
    if (registration.node !== this.options.node || !check || check.type === 'ttl') {
      this.untrack(ident, registration.node !== this.options.node ? 'moved to another node' : 'no active check')
      return
    }
    const existing = this.tracked.get(ident)
    const checkJson = JSON.stringify(check)
    if (existing && existing.checkJson === checkJson) {
      existing.registration = registration
      return
    }
    const parts = this.keys.instanceOf(serviceKey)!
    const record = existing?.record ?? found
    const tracked: Tracked = {
      ident,
      serviceKey,
      healthKey: this.keys.health(parts.namespace, parts.name, parts.id),
      registration,
      check,
      checkJson,
      // Thresholds start from the published status: a prober restart does not reset health.
      state: existing?.state ?? initialState(record?.status ?? 'critical'),
      record,
      deregistering: false,
    }
    this.tracked.set(ident, tracked)
    // A record found at start is taken over under this prober's lease at once, so the
    // previous prober's lease expiring cannot take it away.
    if (found && !existing) this.writer.put(tracked.healthKey, JSON.stringify({...found, prober: this.options.node}))
    this.scheduler.add(ident, check.intervalMs, async (stop) => {
      const result = await runCheck(check, {enableExec: this.options.enableExecChecks, stop})
      if (!stop.aborted && this.tracked.get(ident) === tracked) this.onResult(tracked, result)
    })
    this.log.debug(existing ? 'check changed' : 'tracking', {instance: ident, check: check.type, intervalMs: check.intervalMs})
  }

  private untrack(ident: string, why: string): void {
    this.dropTtlDeadline(ident)
    const tracked = this.tracked.get(ident)
    if (!tracked) return
    this.tracked.delete(ident)
    this.scheduler.remove(ident)
    this.writer.remove(tracked.healthKey)
    this.log.info('stopped probing', {instance: ident, reason: why})
  }

  private onResult(tracked: Tracked, result: CheckResult): void {
    this.probes++
    const {state, accepted} = step(tracked.state, result.status, tracked.check)
    tracked.state = state
    const previous = tracked.record
    const statusChanged = previous?.status !== state.status
    // Below a threshold the published status stays, and so does its output.
    const output = accepted || !previous ? result.output : previous.output
    if (statusChanged || output !== previous?.output) {
      const now = new Date().toISOString()
      tracked.record = {status: state.status, output, since: statusChanged || !previous?.since ? now : previous.since, checkedAt: now, prober: this.options.node}
      this.writer.put(tracked.healthKey, JSON.stringify(tracked.record))
      if (statusChanged) this.log.info('status changed', {instance: tracked.ident, from: previous?.status ?? 'none', to: state.status, output: output.slice(0, 200)})
    }
    this.enforceDeregister(tracked)
  }

  /** --deregister-critical-after: an instance critical for that long is removed. */
  private enforceDeregister(tracked: Tracked): void {
    const after = tracked.check.deregisterCriticalAfterMs
    const record = tracked.record
    if (after === undefined || tracked.deregistering || record?.status !== 'critical') return
    const since = Date.parse(record.since)
    if (!(Date.now() - since >= after)) return
    void this.deregister(tracked, record.since, () => this.untrack(tracked.ident, 'deregistered after being critical'))
  }

  /**
   * Deletes the registration of an instance critical for too long; `done` runs once it is
   * gone. A failure leaves it to the next probe or check (`deregistering` is reset).
   */
  private async deregister(instance: {ident: string; serviceKey: string; deregistering: boolean}, since: string, done: () => void): Promise<void> {
    instance.deregistering = true
    this.log.warn('critical for too long: deregistering', {instance: instance.ident, since})
    try {
      await this.store.delete(instance.serviceKey)
      done()
    } catch (error) {
      instance.deregistering = false
      if (!isStoreUnavailable(error)) this.log.error('could not deregister', {instance: instance.ident, error: (error as Error).message})
    }
  }

  /**
   * --deregister-critical-after for a TTL check: nobody probes it, so the deadline is
   * kept by reading its health record now and then. No record (its TTL ran out) counts
   * as critical, as Consul counts an expired TTL check.
   */
  private followTtlDeadline(ident: string, serviceKey: string, afterMs: number | undefined): void {
    if (afterMs === undefined) return this.dropTtlDeadline(ident)
    const current = this.ttlDeadlines.get(ident)
    if (current && current.afterMs === afterMs) return
    const parts = this.keys.instanceOf(serviceKey)!
    const deadline: TtlDeadline = {ident, serviceKey, healthKey: this.keys.health(parts.namespace, parts.name, parts.id), afterMs, criticalSince: undefined, deregistering: false}
    this.ttlDeadlines.set(ident, deadline)
    this.scheduler.add(`ttl:${ident}`, Math.min(Math.max(afterMs / 4, 1000), 10_000), () => this.checkTtlDeadline(deadline))
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
    } catch {
      return // etcd away: decide nothing
    }
    if (this.ttlDeadlines.get(deadline.ident) !== deadline || deadline.deregistering) return
    if (record && record.status !== 'critical') {
      deadline.criticalSince = undefined
      return
    }
    const recordSince = record ? Date.parse(record.since) : NaN
    deadline.criticalSince ??= Number.isFinite(recordSince) ? recordSince : Date.now()
    if (Date.now() - deadline.criticalSince < deadline.afterMs) return
    await this.deregister(deadline, new Date(deadline.criticalSince).toISOString(), () => this.dropTtlDeadline(deadline.ident))
  }
}
