import type {Keys} from '../../src/store/keys.js'
import {MAX_TRANSACTION_OPS, type Store, type WriteOp} from '../../src/store/store.js'
import type {HealthRecord, ServiceRegistration} from '../../src/svc/model.js'

/**
 * Seeds a service registry straight into the store, in the format `svc register` and the
 * prober write: `services` services (`<prefix><n>`) of `instancesPerService` instances
 * each, unique IPv4 addresses, and (with `checks`) a TTL check per instance and a passing
 * health record. Writes go in full transactions, several in flight, so 100,000 instances
 * take seconds, not minutes. Generic: any benchmark or test that needs a big registry.
 */
export interface SeedOptions {
  services: number
  instancesPerService: number
  /** Service names are `<namePrefix><n>` (default "svc"). */
  namePrefix?: string
  namespace?: string
  /** Give each instance a TTL check and a passing health record (default true). */
  checks?: boolean
  /** Tags of every instance (default ["v1"]); each also gets `shard<n % 4>`. */
  tags?: string[]
  /** Node names are `node<n % nodes>` (default 1,000 nodes). */
  nodes?: number
  /** First instance number, so several seeds can add up without clashing (default 0). */
  offset?: number
  /** Transactions in flight at once (default 16). */
  concurrency?: number
}

export interface SeedResult {
  instances: number
  keys: number
  ms: number
}

/** The address of instance number `n`: 10.(n / 65,536).(n / 256 % 256).(n % 256 + 1 ... ), unique up to 16 million. */
export function seededAddress(n: number): string {
  const v = n + 1
  return `10.${(v >> 16) & 255}.${(v >> 8) & 255}.${v & 255}`
}

export function seededInstance(n: number, options: SeedOptions): {registration: ServiceRegistration; health?: HealthRecord} {
  const service = Math.floor(n / options.instancesPerService)
  const registration: ServiceRegistration = {
    id: `i${n}`,
    name: `${options.namePrefix ?? 'svc'}${service}`,
    namespace: options.namespace ?? 'default',
    address: seededAddress(n),
    port: 8080,
    protocol: 'tcp',
    tags: [...(options.tags ?? ['v1']), `shard${n % 4}`],
    meta: {team: 'bench'},
    weight: 1,
    node: `node${n % (options.nodes ?? 1000)}`,
    registeredAt: new Date(0).toISOString(),
  }
  if (options.checks === false) return {registration}
  registration.check = {type: 'ttl', ttlMs: 60_000}
  const at = new Date().toISOString()
  return {registration, health: {status: 'passing', output: '', since: at, checkedAt: at, prober: registration.node}}
}

export async function seedRegistry(store: Store, keys: Keys, options: SeedOptions): Promise<SeedResult> {
  const started = Date.now()
  const total = options.services * options.instancesPerService
  const offset = options.offset ?? 0
  const ops: WriteOp[] = []
  for (let i = 0; i < total; i++) {
    const {registration, health} = seededInstance(offset + i, options)
    ops.push({type: 'put', key: keys.service(registration.namespace, registration.name, registration.id), value: JSON.stringify(registration)})
    if (health) ops.push({type: 'put', key: keys.health(registration.namespace, registration.name, registration.id), value: JSON.stringify(health)})
  }
  const batches: WriteOp[][] = []
  for (let i = 0; i < ops.length; i += MAX_TRANSACTION_OPS) batches.push(ops.slice(i, i + MAX_TRANSACTION_OPS))
  let next = 0
  const worker = async () => {
    while (next < batches.length) await store.transaction(batches[next++]!)
  }
  await Promise.all(Array.from({length: options.concurrency ?? 16}, worker))
  return {instances: total, keys: ops.length, ms: Date.now() - started}
}
