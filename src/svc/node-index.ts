import type {Logger} from '../lib/log.js'
import {isStoreUnavailable} from '../store/index.js'
import type {Keys} from '../store/keys.js'
import type {Condition, Store, StoredValue, WriteOp} from '../store/store.js'
import {parseRegistration} from './model.js'

/**
 * The per-node index (`/cnet/nodes/<node>/<namespace>/<name>/<id>`, a copy of each
 * registration) lets a prober list and watch its own node's instances only. cnet before
 * the index wrote registrations without it; the first `health run` after the upgrade
 * writes the missing entries once ("migrate on start") and then records the layout in
 * the schema key, so no later start reads the whole registry again.
 */
export const SCHEMA_VERSION = 2

export interface SchemaRecord {
  version: number
  migratedAt: string
  /** Which prober wrote the missing index entries. */
  by: string
}

export interface MigrationResult {
  /** false when the schema key already said the index is complete. */
  ran: boolean
  registrations: number
  written: number
}

/** Registrations per transaction: two conditions and one put each, within etcd's 128. */
const BATCH = 40

export async function schemaVersion(store: Store, keys: Keys): Promise<number> {
  const stored = await store.get(keys.schema())
  if (!stored) return 1
  try {
    const version = (JSON.parse(stored.value) as Partial<SchemaRecord>).version
    return typeof version === 'number' ? version : 1
  } catch {
    return 1
  }
}

/**
 * Writes the index entry of every registration that has none, each under the
 * registration's own lease and only if the registration is unchanged and the entry still
 * absent (so a concurrent register, deregister or second migrating prober is never
 * overwritten), then records the schema version. Nothing to do once recorded.
 */
export async function ensureNodeIndex(store: Store, keys: Keys, by: string, logger: Logger, now: () => Date = () => new Date()): Promise<MigrationResult> {
  if ((await schemaVersion(store, keys)) >= SCHEMA_VERSION) return {ran: false, registrations: 0, written: 0}
  logger.info('writing the per-node index of registrations made before it existed (once)')
  const listing = await store.list(keys.servicesPrefix())
  const missing = listing.items.flatMap((item) => indexEntry(keys, item) ?? [])
  const registrations = listing.items.length
  listing.items.length = 0 // the values are copied into `missing`; let the rest go
  let written = 0
  for (let start = 0; start < missing.length; start += BATCH) written += await writeBatch(store, missing.slice(start, start + BATCH))
  const record: SchemaRecord = {version: SCHEMA_VERSION, migratedAt: now().toISOString(), by}
  await store.put(keys.schema(), JSON.stringify(record))
  logger.info('per-node index complete', {registrations, written})
  return {ran: true, registrations, written}
}

interface Entry {
  put: WriteOp & {type: 'put'}
  conditions: Condition[]
}

function indexEntry(keys: Keys, item: StoredValue): Entry | undefined {
  const parts = keys.instanceOf(item.key)
  const registration = parts?.kind === 'services' ? parseRegistration(item.value) : undefined
  if (!parts || !registration?.node) return undefined
  const key = keys.nodeIndex(registration.node, parts.namespace, parts.name, parts.id)
  return {
    put: {type: 'put', key, value: item.value, ...(item.lease ? {lease: item.lease} : {})},
    conditions: [
      {key: item.key, modRevision: item.modRevision},
      {key, modRevision: 0},
    ],
  }
}

/** All at once; when that fails (an entry written or a registration changed meanwhile, a lease gone), one by one. */
async function writeBatch(store: Store, entries: Entry[]): Promise<number> {
  const attempt = async (batch: Entry[]) => (await store.transaction(batch.map((e) => e.put), batch.flatMap((e) => e.conditions))).succeeded
  try {
    if (await attempt(entries)) return entries.length
  } catch (error) {
    if (isStoreUnavailable(error)) throw error
  }
  let written = 0
  for (const entry of entries) {
    try {
      if (await attempt([entry])) written++
    } catch (error) {
      // A registration whose lease expired since it was listed is gone with it: nothing to index.
      if (isStoreUnavailable(error)) throw error
    }
  }
  return written
}
