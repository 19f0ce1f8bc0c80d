import {formatLeaseAttrs, formatLeaseName} from '../../src/net/lease.js'
import {parseCidr} from '../../src/net/ip.js'
import type {Keys} from '../../src/store/keys.js'
import {type LeaseId, MAX_TRANSACTION_OPS, type Store, type WriteOp} from '../../src/store/store.js'
import type {HealthRecord, ServiceRegistration} from '../../src/svc/model.js'
import {SCHEMA_VERSION, type SchemaRecord} from '../../src/svc/node-index.js'
import {planRegistration} from '../../src/svc/registration-plan.js'

/**
 * Seeds a fleet straight into etcd for the benchmarks and the scale tests, in
 * transactions of MAX_TRANSACTION_OPS operations with several in flight, so 100,000
 * instances and 10,000 subnet leases take seconds, not minutes:
 *
 * - registrations exactly as `cnet svc register NAME --address IP --port N --check-http
 *   URL --node NODE` writes them (built by the same planRegistration), each with its
 *   per-node index entry (`Keys.nodeIndex`, the same value, same transaction);
 * - a passing health record per instance with a check, under its node prober's lease
 *   (one etcd lease per node, as each node's `health run` holds one);
 * - subnet leases in flannel's format, each under an etcd lease of its own as `subnet
 *   lease` takes them, or as reservations (no etcd lease).
 */
export interface FleetOptions {
  services: number
  instancesPerService: number
  /** Instance n runs on node `node<n % nodes>` (default 1,000 nodes). */
  nodes?: number
  namespace?: string
  /** Service names are `<namePrefix><n>` (default "svc"). */
  namePrefix?: string
  /** Give each instance an HTTP check (default true); without one an instance is always passing. */
  check?: boolean
  /**
   * The URL every HTTP check probes (default http://127.0.0.1:9/health: loopback, so a
   * prober started on the seeded registry never sends traffic to the seeded addresses).
   */
  checkUrl?: string
  /** Write a passing health record per checked instance, under per-node prober leases (default true). */
  health?: boolean
  /** TTL of the prober leases (default 60 s; give a longer one to a run that outlasts it). */
  proberLeaseTtlSeconds?: number
  /** Transactions in flight at once (default 16). */
  concurrency?: number
}

export interface SeedResult {
  instances: number
  keys: number
  ms: number
  /** The prober lease of each node (when health records were written). */
  proberLeases: Map<string, LeaseId>
}

const DEFAULT_NODES = 1000
const DEFAULT_CONCURRENCY = 16

export const serviceName = (options: Pick<FleetOptions, 'namePrefix'>, service: number) => `${options.namePrefix ?? 'svc'}${service}`
export const nodeName = (n: number, nodes = DEFAULT_NODES) => `node${n % nodes}`

/** The address of instance n: unique up to 16 million, inside 10.0.0.0/8. */
export function instanceAddress(n: number): string {
  const v = n + 1
  return `10.${(v >> 16) & 255}.${(v >> 8) & 255}.${v & 255}`
}

/**
 * Instance n of a seeded fleet: service `<namePrefix><n / instancesPerService>`, id
 * `<service>-<n % instancesPerService>`, on node `node<n % nodes>`, and the passing health
 * record its prober writes (when it has a check). `at` is when it was registered and checked.
 */
export function seededInstance(n: number, options: FleetOptions, at = new Date()): {registration: ServiceRegistration; health?: HealthRecord} {
  const service = serviceName(options, Math.floor(n / options.instancesPerService))
  const node = nodeName(n, options.nodes)
  const withCheck = options.check !== false
  const {registration} = planRegistration(
    {
      name: service,
      id: `${service}-${n % options.instancesPerService}`,
      namespace: options.namespace ?? 'default',
      address: instanceAddress(n),
      port: 8080,
      protocol: 'tcp',
      tags: ['v1'],
      meta: {},
      weight: 1,
      node,
      check: withCheck ? {http: options.checkUrl ?? 'http://127.0.0.1:9/health', interval: '10s'} : {},
    },
    at,
  )
  if (!withCheck) return {registration}
  const checked = at.toISOString()
  return {registration, health: {status: 'passing', output: 'HTTP GET /health: 200 OK', since: checked, checkedAt: checked, prober: node}}
}

export async function seedFleet(store: Store, keys: Keys, options: FleetOptions): Promise<SeedResult> {
  const started = Date.now()
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY
  const total = options.services * options.instancesPerService
  const proberLeases = new Map<string, LeaseId>()
  if (options.health !== false && options.check !== false) {
    const nodes = Array.from({length: Math.min(options.nodes ?? DEFAULT_NODES, total)}, (_, i) => `node${i}`)
    await inParallel(nodes, concurrency, async (node) => void proberLeases.set(node, await store.grantLease(options.proberLeaseTtlSeconds ?? 60)))
  }
  const at = new Date()
  const ops: WriteOp[] = []
  for (let n = 0; n < total; n++) {
    const {registration, health} = seededInstance(n, options, at)
    const {namespace, name, id, node} = registration
    const value = JSON.stringify(registration)
    ops.push({type: 'put', key: keys.service(namespace, name, id), value})
    ops.push({type: 'put', key: keys.nodeIndex(node, namespace, name, id), value})
    const lease = proberLeases.get(node)
    if (health && lease) ops.push({type: 'put', key: keys.health(namespace, name, id), value: JSON.stringify(health), lease})
  }
  await writeInTransactions(store, ops, concurrency)
  // Written by the current version: the index is complete, no prober needs to migrate it.
  const schema: SchemaRecord = {version: SCHEMA_VERSION, migratedAt: at.toISOString(), by: 'seed'}
  await store.put(keys.schema(), JSON.stringify(schema))
  return {instances: total, keys: ops.length, ms: Date.now() - started, proberLeases}
}

/** The cluster network of seeded subnet leases: /24s of 10.0.0.0/8, 65,536 of them. */
export const SEEDED_NETWORK = {Network: '10.0.0.0/8', SubnetLen: 24, Backend: {Type: 'vxlan'}}

export interface SubnetOptions {
  /** At most 65,534 (lease i is the i-th /24 of SEEDED_NETWORK, from the third on). */
  count: number
  /** Each lease under an etcd lease of its own with this TTL; 0: reservations (default 0). */
  ttlSeconds?: number
  /** Lease grants and transactions in flight at once (default 16). */
  concurrency?: number
}

/** The i-th /24 of SEEDED_NETWORK and the lease value a vxlan host writes for it. */
export function subnetLease(i: number): {name: string; cidr: string; value: string} {
  const cidr = `10.${(i >> 8) & 255}.${i & 255}.0/24`
  const hex = (b: number) => b.toString(16).padStart(2, '0')
  const value = formatLeaseAttrs({
    PublicIP: publicAddress(i),
    PublicIPv6: null,
    BackendType: 'vxlan',
    BackendData: {VNI: 1, VtepMAC: `02:c0:00:${hex((i >> 16) & 255)}:${hex((i >> 8) & 255)}:${hex(i & 255)}`},
    HostName: `host${i}`,
  })
  return {name: formatLeaseName({v4: parseCidr(cidr)!}), cidr, value}
}

/** The underlay address of lease i's host: inside 172.16.0.0/12. */
export function publicAddress(i: number): string {
  return `172.${16 + ((i >> 16) & 15)}.${(i >> 8) & 255}.${(i & 255) || 1}`
}

export async function seedSubnets(store: Store, keys: Keys, options: SubnetOptions): Promise<{count: number; ms: number}> {
  const started = Date.now()
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY
  const indexes = Array.from({length: options.count}, (_, i) => i + 2)
  const leases: (LeaseId | undefined)[] = new Array(options.count)
  if (options.ttlSeconds) await inParallel(indexes, concurrency, async (i) => void (leases[i - 2] = await store.grantLease(options.ttlSeconds!)))
  const ops: WriteOp[] = indexes.map((i) => {
    const {name, value} = subnetLease(i)
    return {type: 'put', key: keys.subnet(name), value, lease: leases[i - 2]}
  })
  await writeInTransactions(store, ops, concurrency)
  return {count: options.count, ms: Date.now() - started}
}

/** Writes `ops` in transactions of MAX_TRANSACTION_OPS, `concurrency` of them in flight. */
export async function writeInTransactions(store: Store, ops: readonly WriteOp[], concurrency = DEFAULT_CONCURRENCY): Promise<void> {
  const batches: WriteOp[][] = []
  for (let i = 0; i < ops.length; i += MAX_TRANSACTION_OPS) batches.push(ops.slice(i, i + MAX_TRANSACTION_OPS))
  await inParallel(batches, concurrency, async (batch) => void (await store.transaction(batch)))
}

async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) await work(items[next++]!)
  }
  await Promise.all(Array.from({length: Math.max(1, concurrency)}, worker))
}
