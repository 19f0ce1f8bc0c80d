import {ConfigError, InvalidValueError} from '../lib/errors.js'
import type {Keys} from '../store/keys.js'
import type {Store} from '../store/store.js'
import {type CheckDefinition, type HealthRecord, type HealthStatus, parseHealth} from './model.js'
import {truncateOutput} from './output.js'
import {findInstance} from './registry.js'

export interface TtlUpdate {
  namespace: string
  id: string
  status: HealthStatus
  note?: string
  now: Date
}

export interface TtlUpdateResult extends HealthRecord {
  id: string
  key: string
  ttlSeconds: number
}

const VERB: Record<HealthStatus, string> = {passing: 'pass', warning: 'warn', critical: 'fail'}
const A_CHECK: Record<CheckDefinition['type'], string> = {http: 'an HTTP check', tcp: 'a TCP check', exec: 'an exec check', ttl: 'a TTL check'}

/**
 * `cnet health pass|warn|fail ID`: writes the TTL check's result under an etcd lease
 * of the check's TTL, so when updates stop arriving the record expires on its own
 * and the instance counts as critical, with no prober involved.
 */
export async function updateTtlCheck(store: Store, keys: Keys, update: TtlUpdate): Promise<TtlUpdateResult> {
  const found = await findInstance(store, keys, update.namespace, update.id)
  if (!found) throw new ConfigError(`health: no instance with id "${update.id}" in namespace ${update.namespace}`, 'see cnet svc list')
  const check = found.registration.check
  if (check?.type !== 'ttl') {
    throw new InvalidValueError('id', `instance "${update.id}" has ${check ? A_CHECK[check.type] : 'no check'}, not a TTL check`, 'register it with a TTL check')
  }
  const key = keys.health(update.namespace, found.registration.name, update.id)
  const previous = await store.get(key)
  const before = previous ? parseHealth(previous.value) : undefined
  const at = update.now.toISOString()
  const record: HealthRecord = {
    status: update.status,
    output: truncateOutput(update.note ?? `TTL check updated by cnet health ${VERB[update.status]}`),
    since: before?.status === update.status && before.since ? before.since : at,
    checkedAt: at,
    prober: 'ttl',
  }
  const ttlSeconds = Math.max(1, Math.ceil(check.ttlMs / 1000))
  const lease = await store.grantLease(ttlSeconds)
  await store.put(key, JSON.stringify(record), {lease})
  return {id: update.id, key, ttlSeconds, ...record}
}
