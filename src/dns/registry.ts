import {isIP} from 'node:net'
import {formatIp, parseIp} from '../net/ip.js'
import {type HealthRecord, type HealthStatus, type StoredRegistration, effectiveStatus, parseStoredRegistration} from '../svc/model.js'

/**
 * The DNS server's in-memory registry: every instance, grouped by service as events
 * arrive, in records kept small (a fleet's 100,000 instances live in every worker).
 * Pure: events in, changes out; the store follower (index.ts) feeds it.
 */

/** Health as a small number: 0 no record, then passing, warning, critical. */
export type HealthCode = 0 | 1 | 2 | 3
const STATUS_CODE: Record<HealthStatus, HealthCode> = {passing: 1, warning: 2, critical: 3}

/** A status as its HealthCode (1, 2 or 3). */
export const healthCode = (status: HealthStatus): HealthCode => STATUS_CODE[status]

/** What DNS needs of one instance; everything else of the registration is dropped. */
export interface DnsInstance {
  /** "<namespace>/<name>/<id>" from the etcd key: health records find their instance by it. */
  readonly ident: string
  /** "<name>.<namespace>", lower-cased: the group it answers in. */
  readonly service: string
  readonly namespace: string
  /** Lower-cased id: the instance's own name is `<id>.<service>.svc.<zone>`. */
  readonly id: string
  /** Canonical text (IPv6 compressed as RFC 5952), or as registered when not an address. */
  readonly address: string
  readonly family: 0 | 4 | 6
  readonly port: number
  readonly protocol: string
  /** Lower-cased SRV port name (default: the protocol). */
  readonly portName: string
  readonly weight: number
  /** Lower-cased tags (DNS names are case-insensitive). */
  readonly tags: readonly string[]
  /**
   * effectiveStatus for each HealthCode, two bits each, worked out once from the full
   * registration: whatever the registration says that decides health (a check, a
   * maintenance mode) is in here, and the registration itself need not be kept.
   */
  readonly statusTable: number
  health: HealthCode
}

/** What a batch of events changed, for invalidating answers built from it. */
export interface RegistryChange {
  services: Set<string>
  addresses: Set<string>
  namespaces: Set<string>
  /** Everything may have changed (a resync). */
  all: boolean
}

export const emptyChange = (): RegistryChange => ({services: new Set(), addresses: new Set(), namespaces: new Set(), all: false})

/** The effective status of an instance as it stands, as a HealthCode (1, 2 or 3). */
export function statusOf(instance: DnsInstance): HealthCode {
  return ((instance.statusTable >> (instance.health * 2)) & 3) as HealthCode
}

const NO_TAGS: readonly string[] = Object.freeze([])
const HEALTH_RECORDS = [undefined, ...(['passing', 'warning', 'critical'] as const).map((status) => ({status}) as HealthRecord)]

/**
 * Strings and tag lists many instances share (a service's name, its namespace, a set of
 * tags), kept once: at 100,000 instances a copy each is tens of megabytes per worker.
 */
export class Interned {
  private readonly strings = new Map<string, string>()
  private readonly tagLists = new Map<string, readonly string[]>()

  string(text: string): string {
    let kept = this.strings.get(text)
    if (kept === undefined) this.strings.set(text, (kept = text))
    return kept
  }

  tags(tags: readonly string[]): readonly string[] {
    if (!tags.length) return NO_TAGS
    const lower = tags.map((tag) => tag.toLowerCase())
    const key = lower.join('\n')
    let kept = this.tagLists.get(key)
    if (!kept) this.tagLists.set(key, (kept = Object.freeze(lower.map((tag) => this.string(tag)))))
    return kept
  }
}

/**
 * The string copied out of the one it was cut from. An ident is the tail of its etcd
 * key, and V8 keeps a tail as a slice that holds on to the whole key: at 100,000
 * instances a worker's heap held 100,308 such slices (3.2 MB) and the keys behind them,
 * some 5 MB more than flat copies take.
 */
function ownCopy(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8')
}

/** One instance's DNS record, from its registration as parsed or as stored (defaults filled in here). */
export function toDnsInstance(ident: string, registration: StoredRegistration, health: HealthCode, interned = new Interned()): DnsInstance {
  let table = 0
  for (let code = 0; code < 4; code++) table |= STATUS_CODE[effectiveStatus(registration, HEALTH_RECORDS[code])] << (code * 2)
  const family = isIP(registration.address) as 0 | 4 | 6
  const address = family === 6 ? formatIp(parseIp(registration.address)!) : registration.address
  return {
    ident: ownCopy(ident),
    service: interned.string(`${registration.name}.${registration.namespace}`.toLowerCase()),
    namespace: interned.string(registration.namespace.toLowerCase()),
    id: registration.id.toLowerCase(),
    address,
    family,
    port: registration.port,
    protocol: interned.string(registration.protocol ?? 'tcp'),
    portName: interned.string((registration.portName ?? registration.protocol ?? 'tcp').toLowerCase()),
    weight: registration.weight ?? 1,
    tags: registration.tags ? interned.tags(registration.tags) : NO_TAGS,
    statusTable: table,
    health,
  }
}

/** "<name>.<namespace>", lower-cased, of an ident "<namespace>/<name>/<id>": the group its key names. */
export function serviceOfIdent(ident: string): string {
  const first = ident.indexOf('/')
  const second = ident.indexOf('/', first + 1)
  return `${ident.slice(first + 1, second)}.${ident.slice(0, first)}`.toLowerCase()
}

/**
 * The registrations of one service as listed, not parsed yet: for each, its ident, and
 * its value as the listing's bytes, bytes[start..end), in turn. Kept as bytes, a
 * fleet's values (some 37 MB) are neither decoded nor copied by the collector until
 * read.
 */
interface UnparsedGroup {
  readonly namespace: string
  readonly entries: (string | Buffer | number)[]
}

/** Slots per registration in an UnparsedGroup's entries. */
const ENTRY = 4

/**
 * Registrations listed and not parsed yet, grouped by the service their keys name. A
 * fleet's first listing is 100,000 registrations; parsing each and building its record
 * was a third of a worker's time to its first answer. A group is parsed when a query
 * first asks for its service, and the rest in the background once the server answers.
 */
export class Unparsed {
  readonly groups = new Map<string, UnparsedGroup>()
  /** Unparsed groups per namespace (lower-cased): a namespace with some exists. */
  readonly namespaces = new Map<string, number>()
  /** "<namespace>/<name>/" of the last one added: a listing comes sorted by key, so a service's are in a row. */
  private lastPrefix = ''
  private last: UnparsedGroup | undefined
  /** Registrations in all groups. */
  count = 0

  add(ident: string, bytes: Buffer, start: number, end: number): void {
    let group = this.last
    if (!group || !ident.startsWith(this.lastPrefix)) {
      const service = serviceOfIdent(ident)
      group = this.groups.get(service)
      if (!group) {
        this.groups.set(service, (group = {namespace: ident.slice(0, ident.indexOf('/')).toLowerCase(), entries: []}))
        this.namespaces.set(group.namespace, (this.namespaces.get(group.namespace) ?? 0) + 1)
      }
      this.last = group
      this.lastPrefix = ident.slice(0, ident.lastIndexOf('/') + 1)
    }
    group.entries.push(ident, bytes, start, end)
    this.count++
  }

  /** The group of a service, no longer unparsed; undefined when it has none. */
  take(service: string): UnparsedGroup | undefined {
    const group = this.groups.get(service)
    if (!group) return undefined
    this.groups.delete(service)
    if (this.last === group) this.last = undefined
    this.count -= group.entries.length / ENTRY
    const left = (this.namespaces.get(group.namespace) ?? 0) - 1
    if (left > 0) this.namespaces.set(group.namespace, left)
    else this.namespaces.delete(group.namespace)
    return group
  }

  /** Some service with an unparsed group, or undefined when all are parsed. */
  anyService(): string | undefined {
    for (const service of this.groups.keys()) return service
    return undefined
  }
}

/**
 * A full listing of registrations as the store reads it, page by page, for
 * replaceRegistrations. Lazy, each is kept as listed, grouped by the service its key
 * names, and parsed when first needed (see Unparsed): the first answer comes sooner.
 * Eager, each is parsed as it is read and only its small record kept, with the
 * registry's maps built while etcd reads the next page: more work before serving, but
 * a lower peak of memory, as no listed value is held.
 */
export class ListedInstances {
  readonly interned = new Interned()
  readonly unparsed = new Unparsed()
  readonly indexes = new Indexes()

  /** Whether the listing reads its values with add (lazy) or addParsed (eager). */
  constructor(readonly lazy = true) {}

  /** A registration's value as UTF-8 bytes, bytes[start..end), kept as it is to parse when first needed (how a lazy listing reads). */
  add(ident: string, bytes: Buffer, start: number, end: number): void {
    this.unparsed.add(ident, bytes, start, end)
  }

  /** A registration's value as text, parsed now (how an eager listing reads). */
  addParsed(ident: string, value: string): void {
    const registration = parseStoredRegistration(value)
    if (registration) this.indexes.add(toDnsInstance(ident, registration, 0, this.interned))
  }
}

/** The instances of one service; its healthy ones sorted by id, worked out when asked. */
class ServiceGroup {
  readonly members: DnsInstance[] = []
  /** [healthy including warning, passing only], or undefined when stale. */
  private healthy: (DnsInstance[] | undefined)[] = [undefined, undefined]

  stale(): void {
    this.healthy[0] = this.healthy[1] = undefined
  }

  healthyMembers(onlyPassing: boolean): DnsInstance[] {
    const slot = onlyPassing ? 1 : 0
    let list = this.healthy[slot]
    if (!list) {
      list = this.members.filter((instance) => {
        const status = statusOf(instance)
        return status === 1 || (status === 2 && !onlyPassing)
      })
      list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      this.healthy[slot] = list
    }
    return list
  }
}

/** The registry's instances, by ident, by service, by address and per namespace, kept in step. */
class Indexes {
  readonly instances = new Map<string, DnsInstance>()
  readonly groups = new Map<string, ServiceGroup>()
  /** By address: the instance, or a list when several share it (one each is the rule; a list apiece would cost a fleet megabytes per worker). */
  readonly byAddress = new Map<string, DnsInstance | DnsInstance[]>()
  /** Registered instances per namespace. */
  readonly namespaces = new Map<string, number>()

  add(instance: DnsInstance): void {
    this.instances.set(instance.ident, instance)
    let group = this.groups.get(instance.service)
    if (!group) this.groups.set(instance.service, (group = new ServiceGroup()))
    group.members.push(instance)
    group.stale()
    const sameAddress = this.byAddress.get(instance.address)
    if (sameAddress === undefined) this.byAddress.set(instance.address, instance)
    else if (Array.isArray(sameAddress)) sameAddress.push(instance)
    else this.byAddress.set(instance.address, [sameAddress, instance])
    this.namespaces.set(instance.namespace, (this.namespaces.get(instance.namespace) ?? 0) + 1)
  }

  remove(instance: DnsInstance): void {
    this.instances.delete(instance.ident)
    const group = this.groups.get(instance.service)
    if (group) {
      dropFrom(group.members, instance)
      group.stale()
      if (!group.members.length) this.groups.delete(instance.service)
    }
    const sameAddress = this.byAddress.get(instance.address)
    if (sameAddress === instance) this.byAddress.delete(instance.address)
    else if (Array.isArray(sameAddress)) {
      dropFrom(sameAddress, instance)
      if (sameAddress.length === 1) this.byAddress.set(instance.address, sameAddress[0]!)
    }
    const count = (this.namespaces.get(instance.namespace) ?? 1) - 1
    if (count > 0) this.namespaces.set(instance.namespace, count)
    else this.namespaces.delete(instance.namespace)
  }
}

export class Registry {
  private indexes = new Indexes()
  /** Registrations listed and not yet parsed (see Unparsed). */
  private unparsed = new Unparsed()
  /** Health records whose registration is not (yet, or no longer) here, or not parsed yet. */
  private orphanHealth = new Map<string, HealthCode>()
  /** Shared strings; started afresh with each full listing, so it holds only what is in use. */
  private interned = new Interned()
  /**
   * Told what parsing a listed registration changed beyond the service its key names:
   * one whose own name puts it in another service, whose answers may be cached already.
   */
  onLateChange: ((change: RegistryChange) => void) | undefined

  /** Registered instances (every registration parsed first). */
  get size(): number {
    this.parseAll()
    return this.indexes.instances.size
  }

  /** Whether some listed registrations are not parsed yet. */
  get parsing(): boolean {
    return this.unparsed.groups.size > 0
  }

  /** How many listed registrations are not parsed yet. */
  get unparsedCount(): number {
    return this.unparsed.count
  }

  /** The healthy instances of "<name>.<namespace>" (lower-cased), sorted by id; undefined for none. */
  healthy(service: string, onlyPassing: boolean): readonly DnsInstance[] | undefined {
    this.parse(service)
    const list = this.indexes.groups.get(service)?.healthyMembers(onlyPassing)
    return list?.length ? list : undefined
  }

  /** Every instance registered at an address (canonical text), healthy or not. */
  atAddress(address: string): readonly DnsInstance[] | undefined {
    // Any unparsed registration may hold it: rare, as the rest are parsed moments after the listing.
    this.parseAll()
    const found = this.indexes.byAddress.get(address)
    return found === undefined || Array.isArray(found) ? found : [found]
  }

  /**
   * Whether a namespace has instances. One with registrations not parsed yet counts, so a
   * name in it is told apart from one in no namespace without parsing all of them; should
   * none of them parse, it is known once the background parsing reaches them.
   */
  hasNamespace(namespace: string): boolean {
    return this.indexes.namespaces.has(namespace) || this.unparsed.namespaces.has(namespace)
  }

  get(ident: string): DnsInstance | undefined {
    this.parse(serviceOfIdent(ident))
    return this.indexes.instances.get(ident)
  }

  /** Parses unparsed groups for about `budgetMs` (all of them for Infinity); true while some are left. */
  parseSome(budgetMs: number): boolean {
    if (!this.parsing) return false
    const until = performance.now() + budgetMs
    let service: string | undefined
    while ((service = this.unparsed.anyService()) !== undefined) {
      this.parse(service)
      if (performance.now() >= until) break
    }
    return this.parsing
  }

  private parseAll(): void {
    this.parseSome(Infinity)
  }

  /**
   * The unparsed registrations of a service parsed into instances, each with the health
   * known for it. Nothing was answered from them, so nothing changed for the service
   * itself; one filed under another service is told to onLateChange, and so is a group
   * of which none was a registration (its namespace counted for them).
   */
  private parse(service: string): void {
    const group = this.unparsed.take(service)
    if (!group) return
    const {entries} = group
    let late: RegistryChange | undefined
    let parsed = 0
    for (let i = 0; i < entries.length; i += ENTRY) {
      const ident = entries[i] as string
      const registration = parseStoredRegistration((entries[i + 1] as Buffer).toString('utf8', entries[i + 2] as number, entries[i + 3] as number))
      if (!registration) continue
      parsed++
      const health = this.orphanHealth.get(ident) ?? 0
      if (health) this.orphanHealth.delete(ident)
      const instance = toDnsInstance(ident, registration, health, this.interned)
      this.indexes.add(instance)
      if (instance.service !== service) noteChange(instance, (late ??= emptyChange()))
    }
    // None was a registration: the namespace counted for them may be gone.
    if (!parsed) {
      late ??= emptyChange()
      late.services.add(service)
      late.namespaces.add(group.namespace)
    }
    if (late) this.onLateChange?.(late)
  }

  /** A registration put (undefined: deleted, or a value that is not a registration). */
  putRegistration(ident: string, registration: StoredRegistration | undefined, change: RegistryChange): void {
    this.parse(serviceOfIdent(ident))
    const old = this.indexes.instances.get(ident)
    let health: HealthCode = 0
    if (old) {
      health = old.health
      this.indexes.remove(old)
      noteChange(old, change)
    } else {
      health = this.orphanHealth.get(ident) ?? 0
    }
    if (!registration) {
      if (health) this.orphanHealth.set(ident, health)
      return
    }
    this.orphanHealth.delete(ident)
    const instance = toDnsInstance(ident, registration, health, this.interned)
    this.indexes.add(instance)
    noteChange(instance, change)
  }

  /** A health record put (undefined: deleted, or not a health record). */
  putHealth(ident: string, status: HealthStatus | undefined, change: RegistryChange): void {
    const code: HealthCode = status ? STATUS_CODE[status] : 0
    const instance = this.indexes.instances.get(ident)
    if (!instance) {
      // Not registered, or not parsed yet: its registration finds it here (no answer was built from it).
      if (code) this.orphanHealth.set(ident, code)
      else this.orphanHealth.delete(ident)
      return
    }
    if (instance.health === code) return
    const before = statusOf(instance)
    instance.health = code
    if (statusOf(instance) === before) return
    this.indexes.groups.get(instance.service)?.stale()
    change.services.add(instance.service)
    change.addresses.add(instance.address)
  }

  /**
   * Everything registered now, replacing what was known (a listing, or a resync): the
   * listing's instances and the maps built with them, or its registrations to parse when
   * first needed, and its own Interned, which the registry adopts. Each keeps the health
   * known for it; an unparsed one's waits with the orphans' until it is parsed.
   */
  replaceRegistrations(listed: ListedInstances, change: RegistryChange): void {
    const health = this.orphanHealth
    for (const [ident, instance] of this.indexes.instances) if (instance.health) health.set(ident, instance.health)
    this.indexes = listed.indexes
    this.unparsed = listed.unparsed
    this.interned = listed.interned
    if (!this.indexes.instances.size) {
      this.orphanHealth = health
    } else {
      // The few left over go in a map of their own, rather than deleting from this one every
      // health record that found its instance (at a fleet's first load, all 100,000 of them).
      const orphans = new Map<string, HealthCode>()
      for (const [ident, code] of health) {
        const instance = this.indexes.instances.get(ident)
        if (instance) instance.health = code
        else orphans.set(ident, code)
      }
      this.orphanHealth = orphans
      for (const group of this.indexes.groups.values()) group.stale()
    }
    change.all = true
  }

  /**
   * Every health record now, by ident, replacing what was known. The registry takes the
   * map over (the caller must not change it after): with no instance parsed yet, as at a
   * fleet's first load, it becomes the orphans' map whole.
   */
  replaceHealth(codes: Map<string, HealthCode>, change: RegistryChange): void {
    for (const instance of this.indexes.instances.values()) instance.health = 0
    if (this.indexes.instances.size) {
      this.orphanHealth = new Map()
      for (const [ident, code] of codes) {
        const instance = this.indexes.instances.get(ident)
        if (instance) instance.health = code
        else this.orphanHealth.set(ident, code)
      }
    } else {
      this.orphanHealth = codes
    }
    for (const group of this.indexes.groups.values()) group.stale()
    change.all = true
  }
}

function noteChange(instance: DnsInstance, change: RegistryChange): void {
  change.services.add(instance.service)
  change.addresses.add(instance.address)
  change.namespaces.add(instance.namespace)
}

function dropFrom<T>(list: T[], item: T): void {
  const at = list.indexOf(item)
  if (at >= 0) {
    list[at] = list[list.length - 1]!
    list.pop()
  }
}
