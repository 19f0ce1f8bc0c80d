import {ConfigError} from '../lib/errors.js'
import type {Keys} from '../store/keys.js'
import type {Store} from '../store/store.js'
import {type InstanceRow, toRow} from './listing.js'
import {type CheckDefinition, parseHealth} from './model.js'
import {findInstance} from './registry.js'

/** `svc show ID`: the row `svc list` shows, plus the whole check definition and where it is stored. */
export interface InstanceDetails extends InstanceRow {
  checkDefinition: CheckDefinition | null
  registeredAt: string
  key: string
  /** The etcd lease the registration lives under (`svc register --lease-ttl`), or null. */
  lease: string | null
}

export async function showInstance(store: Store, keys: Keys, namespace: string, id: string): Promise<InstanceDetails> {
  const found = await findInstance(store, keys, namespace, id)
  if (!found) throw new ConfigError(`svc: no instance with id "${id}" in namespace ${namespace}`, 'see cnet svc list')
  const {registration} = found
  const stored = await store.get(keys.health(namespace, registration.name, id))
  const health = stored ? parseHealth(stored.value) : undefined
  return {...toRow(registration, health), checkDefinition: registration.check ?? null, registeredAt: registration.registeredAt, key: found.key, lease: found.stored.lease}
}
