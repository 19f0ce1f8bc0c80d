import {ConfigError, ConflictError} from '../lib/errors.js'
import type {Keys} from '../store/keys.js'
import type {KeptLease, Store, StoredValue, WriteOp} from '../store/store.js'
import {type Maintenance, type ServiceRegistration, parseRegistration} from './model.js'
import {type RegistrationPlan, sameRegistration} from './registration-plan.js'

export interface RegisterResult {
  key: string
  id: string
  name: string
  namespace: string
  node: string
  /** created, updated, or unchanged (the same registration was already there). */
  action: 'created' | 'updated' | 'unchanged'
  /** Whether the health record already there was kept (re-registering never resets health). */
  healthKept: boolean
  initialStatus: string | null
  leaseTtlSeconds: number | null
}

export interface StoredInstance {
  key: string
  registration: ServiceRegistration
  stored: StoredValue
}

/** A write lost to a concurrent one is tried again this many times before giving up. */
const WRITE_ATTEMPTS = 4

/** Every instance of a namespace by id, from one listing (ids are unique within a namespace). */
export async function instancesOf(store: Store, keys: Keys, namespace: string): Promise<Map<string, StoredInstance>> {
  const listing = await store.list(keys.servicesPrefix(namespace))
  const byId = new Map<string, StoredInstance>()
  for (const item of listing.items) {
    const parts = keys.instanceOf(item.key)
    const registration = parts ? parseRegistration(item.value) : undefined
    if (parts && registration && !byId.has(parts.id)) byId.set(parts.id, {key: item.key, registration, stored: item})
  }
  return byId
}

/** Finds an instance by id within a namespace. */
export async function findInstance(store: Store, keys: Keys, namespace: string, id: string): Promise<StoredInstance | undefined> {
  return (await instancesOf(store, keys, namespace)).get(id)
}

async function readInstance(store: Store, key: string): Promise<StoredInstance | undefined> {
  const stored = await store.get(key)
  const registration = stored ? parseRegistration(stored.value) : undefined
  return stored && registration ? {key, registration, stored} : undefined
}

/**
 * Writes one planned registration; see registerInstances.
 */
export async function registerInstance(store: Store, keys: Keys, plan: RegistrationPlan, lease?: KeptLease): Promise<RegisterResult> {
  return (await registerInstances(store, keys, [plan], lease))[0]!
}

/**
 * Writes planned registrations. Every id is checked against what is registered before
 * anything is written (an id taken by another service in its namespace is a conflict,
 * exit 5), so a refused batch writes nothing. Registering an id again updates it and
 * keeps its health record and its maintenance (Consul resets health to critical; a re-run
 * of a provisioning script should not make a healthy instance vanish from DNS); the same
 * registration again writes nothing. Each registration is written with its per-node index
 * entry in one transaction (moving the entry when the instance moved to another node);
 * with a kept lease, both go under it and vanish when it does.
 */
export async function registerInstances(store: Store, keys: Keys, plans: readonly RegistrationPlan[], lease?: KeptLease): Promise<RegisterResult[]> {
  const registered = new Map<string, Map<string, StoredInstance>>()
  for (const namespace of new Set(plans.map((p) => p.registration.namespace))) registered.set(namespace, await instancesOf(store, keys, namespace))
  for (const {registration: wanted} of plans) {
    const existing = registered.get(wanted.namespace)!.get(wanted.id)
    if (existing && existing.registration.name !== wanted.name) {
      throw new ConflictError(
        `svc: id "${wanted.id}" is already registered in namespace ${wanted.namespace} for service ${existing.registration.name}`,
        'choose another id, or deregister it first',
      )
    }
  }
  const results: RegisterResult[] = []
  for (const plan of plans) results.push(await writeRegistration(store, keys, plan, registered.get(plan.registration.namespace)!.get(plan.registration.id), lease))
  return results
}

async function writeRegistration(store: Store, keys: Keys, plan: RegistrationPlan, existing: StoredInstance | undefined, lease: KeptLease | undefined): Promise<RegisterResult> {
  const {registration: wanted, initialHealth} = plan
  const {namespace, name, id} = wanted
  const key = keys.service(namespace, name, id)
  const indexKey = keys.nodeIndex(wanted.node, namespace, name, id)
  const healthKey = keys.health(namespace, name, id)
  const result = {key, id, name, namespace, node: wanted.node, leaseTtlSeconds: lease?.ttlSeconds ?? null}
  let initialStatus: string | null = null
  for (let attempt = 1; ; attempt++) {
    const [health, index] = await Promise.all([store.get(healthKey), store.get(indexKey)])
    const registration = carriedOver(wanted, existing?.registration)
    const leaseId = lease?.id ?? null
    const indexed = index !== null && index.lease === leaseId && sameStored(index.value, registration)
    const unchanged = existing !== undefined && existing.stored.lease === leaseId && sameRegistration(existing.registration, registration) && indexed
    // The initial health goes first: a prober that sees the registration reads it to start
    // its thresholds from. Only if still absent, so a prober's record written meanwhile wins.
    if (!health && initialHealth && initialStatus === null) {
      const created = lease ? await lease.create(healthKey, JSON.stringify(initialHealth)) : await store.create(healthKey, JSON.stringify(initialHealth))
      if (created) initialStatus = initialHealth.status
    }
    const done = (action: RegisterResult['action']): RegisterResult => ({...result, action, healthKept: health !== null, initialStatus})
    if (unchanged) return done('unchanged')
    const value = JSON.stringify(registration)
    const oldNode = existing?.registration.node
    const moved = oldNode && oldNode !== wanted.node ? [keys.nodeIndex(oldNode, namespace, name, id)] : []
    if (lease) {
      await lease.putAll([{key, value}, {key: indexKey, value}], moved)
      return done(existing ? 'updated' : 'created')
    }
    const ops: WriteOp[] = [{type: 'put', key, value}, {type: 'put', key: indexKey, value}, ...moved.map((k) => ({type: 'delete' as const, key: k}))]
    // Only over the registration read: a concurrent change is read again and decided anew.
    const {succeeded} = await store.transaction(ops, [{key, modRevision: existing?.stored.modRevision ?? 0}])
    if (succeeded) return done(existing ? 'updated' : 'created')
    if (attempt >= WRITE_ATTEMPTS) throw new ConflictError(`svc: ${namespace}/${name}/${id} kept changing while being registered`, 'try again')
    existing = await readInstance(store, key)
  }
}

/** What re-registering keeps from the registration it replaces: when it was first registered, and its maintenance. */
function carriedOver(wanted: ServiceRegistration, existing: ServiceRegistration | undefined): ServiceRegistration {
  if (!existing) return wanted
  const registration: ServiceRegistration = {...wanted, registeredAt: existing.registeredAt || wanted.registeredAt}
  if (existing.maintenance) registration.maintenance = existing.maintenance
  return registration
}

function sameStored(value: string, registration: ServiceRegistration): boolean {
  const stored = parseRegistration(value)
  return stored !== undefined && sameRegistration(stored, registration)
}

/** The deletes that remove an instance: its registration, its per-node index entry and its health record. */
export function removalOps(keys: Keys, registration: Pick<ServiceRegistration, 'namespace' | 'name' | 'id' | 'node'>): WriteOp[] {
  const {namespace, name, id, node} = registration
  const removed = [keys.service(namespace, name, id), keys.health(namespace, name, id)]
  if (node) removed.push(keys.nodeIndex(node, namespace, name, id))
  return removed.map((key) => ({type: 'delete', key}))
}

export interface DeregisterResult {
  id: string
  name: string
  namespace: string
  key: string
  /** removed, or absent (nothing was registered there: `svc deregister --file` only). */
  action: 'removed' | 'absent'
  healthRemoved: boolean
}

/** Deletes an instance, its index entry and its health record in one transaction; an id that is not registered is exit 3. */
export async function deregisterInstance(store: Store, keys: Keys, namespace: string, id: string): Promise<DeregisterResult> {
  const found = await findInstance(store, keys, namespace, id)
  if (!found) throw new ConfigError(`svc: no instance with id "${id}" in namespace ${namespace}`, 'see cnet svc list')
  return remove(store, keys, found)
}

/** `svc deregister --file`: removes each instance a definition file defines; one already gone is `absent`, not an error. */
export async function deregisterDefined(store: Store, keys: Keys, registrations: readonly Pick<ServiceRegistration, 'namespace' | 'name' | 'id'>[]): Promise<DeregisterResult[]> {
  const results: DeregisterResult[] = []
  for (const {namespace, name, id} of registrations) {
    const key = keys.service(namespace, name, id)
    const found = await readInstance(store, key)
    results.push(found ? await remove(store, keys, found) : {id, name, namespace, key, action: 'absent', healthRemoved: false})
  }
  return results
}

async function remove(store: Store, keys: Keys, found: StoredInstance): Promise<DeregisterResult> {
  const {namespace, name, id} = found.registration
  const health = await store.get(keys.health(namespace, name, id))
  await store.transaction(removalOps(keys, found.registration))
  return {id, name, namespace, key: found.key, action: 'removed', healthRemoved: health !== null}
}

export interface MaintenanceResult {
  id: string
  name: string
  namespace: string
  key: string
  action: 'enabled' | 'disabled' | 'updated' | 'unchanged'
  maintenance: Maintenance | null
}

/**
 * `cnet svc maint`: puts an instance into maintenance (it counts as critical: gone from
 * DNS and resolve) or takes it out. Recorded in the registration, written with its index
 * copy in one transaction and under the registration's own lease, so it survives prober
 * restarts and re-registering, and goes with the instance.
 */
export async function setMaintenance(store: Store, keys: Keys, namespace: string, id: string, wanted: Maintenance | null): Promise<MaintenanceResult> {
  let found = await findInstance(store, keys, namespace, id)
  for (let attempt = 1; ; attempt++) {
    if (!found) throw new ConfigError(`svc: no instance with id "${id}" in namespace ${namespace}`, 'see cnet svc list')
    const {registration, stored} = found
    const current = registration.maintenance ?? null
    const result = {id, name: registration.name, namespace, key: found.key}
    if ((!wanted && !current) || (wanted && current && wanted.reason === current.reason)) return {...result, action: 'unchanged', maintenance: current}
    const next: ServiceRegistration = {...registration}
    if (wanted) next.maintenance = {reason: wanted.reason, since: current?.since ?? wanted.since}
    else delete next.maintenance
    const value = JSON.stringify(next)
    const lease = stored.lease ?? undefined
    const ops: WriteOp[] = [{type: 'put', key: found.key, value, lease}]
    if (registration.node) ops.push({type: 'put', key: keys.nodeIndex(registration.node, namespace, registration.name, id), value, lease})
    const {succeeded} = await store.transaction(ops, [{key: found.key, modRevision: stored.modRevision}])
    if (succeeded) return {...result, action: !wanted ? 'disabled' : current ? 'updated' : 'enabled', maintenance: next.maintenance ?? null}
    if (attempt >= WRITE_ATTEMPTS) throw new ConflictError(`svc: ${namespace}/${registration.name}/${id} kept changing while setting maintenance`, 'try again')
    found = await readInstance(store, found.key)
  }
}
