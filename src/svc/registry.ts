import {ConfigError, ConflictError} from '../lib/errors.js'
import type {Keys} from '../store/keys.js'
import type {KeptLease, Store, StoredValue} from '../store/store.js'
import {type ServiceRegistration, parseRegistration} from './model.js'
import {type RegistrationPlan, sameRegistration} from './registration-plan.js'

export interface RegisterResult {
  key: string
  id: string
  name: string
  namespace: string
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

/** Finds an instance by id within a namespace (ids are unique there; see registerInstance). */
export async function findInstance(store: Store, keys: Keys, namespace: string, id: string): Promise<StoredInstance | undefined> {
  const listing = await store.list(keys.servicesPrefix(namespace))
  for (const item of listing.items) {
    const parts = keys.instanceOf(item.key)
    if (parts?.id !== id) continue
    const registration = parseRegistration(item.value)
    if (registration) return {key: item.key, registration, stored: item}
  }
  return undefined
}

/**
 * Writes a planned registration. Registering an id again updates it and keeps its
 * health record (Consul resets it to critical; a re-run of a provisioning script
 * should not make a healthy instance vanish from DNS). With a kept lease, the keys go
 * under it and vanish when it does.
 */
export async function registerInstance(store: Store, keys: Keys, plan: RegistrationPlan, lease?: KeptLease): Promise<RegisterResult> {
  const {registration: wanted, initialHealth} = plan
  const key = keys.service(wanted.namespace, wanted.name, wanted.id)
  const existing = await findInstance(store, keys, wanted.namespace, wanted.id)
  if (existing && existing.key !== key) {
    throw new ConflictError(
      `svc: id "${wanted.id}" is already registered in namespace ${wanted.namespace} for service ${existing.registration.name}`,
      'choose another --id, or deregister it first',
    )
  }
  const healthKey = keys.health(wanted.namespace, wanted.name, wanted.id)
  const health = await store.get(healthKey)
  const registration = existing ? {...wanted, registeredAt: existing.registration.registeredAt || wanted.registeredAt} : wanted
  let action: RegisterResult['action'] = existing ? 'updated' : 'created'
  // An unchanged registration is left alone, unless it must move under a new lease.
  const unchanged = existing && sameRegistration(existing.registration, registration) && (lease ? existing.stored.lease === lease.id : existing.stored.lease === null)
  // The initial health goes first: a prober that sees the registration reads it to start
  // its thresholds from. Only if still absent, so a prober's record written meanwhile wins.
  let initialStatus: string | null = null
  if (!health && initialHealth) {
    const created = lease ? await lease.create(healthKey, JSON.stringify(initialHealth)) : await store.create(healthKey, JSON.stringify(initialHealth))
    if (created) initialStatus = initialHealth.status
  }
  if (unchanged) action = 'unchanged'
  else if (lease) await lease.put(key, JSON.stringify(registration))
  else await store.put(key, JSON.stringify(registration))
  return {key, id: wanted.id, name: wanted.name, namespace: wanted.namespace, action, healthKept: health !== null, initialStatus, leaseTtlSeconds: lease?.ttlSeconds ?? null}
}

export interface DeregisterResult {
  id: string
  name: string
  namespace: string
  key: string
  healthRemoved: boolean
}

/** Deletes an instance and its health record; an id that is not registered is exit 3. */
export async function deregisterInstance(store: Store, keys: Keys, namespace: string, id: string): Promise<DeregisterResult> {
  const found = await findInstance(store, keys, namespace, id)
  if (!found) throw new ConfigError(`svc: no instance with id "${id}" in namespace ${namespace}`, 'see cnet svc list')
  const {name} = found.registration
  await store.delete(found.key)
  const healthRemoved = await store.delete(keys.health(namespace, name, id))
  return {id, name, namespace, key: found.key, healthRemoved}
}
