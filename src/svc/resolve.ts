import {CnetError} from '../lib/errors.js'
import type {Keys} from '../store/keys.js'
import type {Store} from '../store/store.js'
import {type InstanceRow, listInstances} from './listing.js'
import {positionsFile, readPositions, storePosition} from './rr-state.js'
import {type Strategy, select} from './select.js'

export interface ResolveOptions {
  namespace: string
  name: string
  strategy: Strategy
  count: number
  key?: string
  passingOnly?: boolean
  /** Only instances carrying every one of these tags. */
  tags?: readonly string[]
  /** round-robin's state file (default under the user's state directory). */
  stateFile?: string
}

/** What a client would use: passing, and warning unless passingOnly (as the DNS server answers); never one in maintenance. */
export function healthyOnly<T extends Pick<InstanceRow, 'status'>>(rows: readonly T[], passingOnly = false): T[] {
  return rows.filter((r) => r.status === 'passing' || (r.status === 'warning' && !passingOnly))
}

export type ResolvedInstance = Pick<InstanceRow, 'id' | 'address' | 'port' | 'status' | 'weight' | 'node' | 'tags'>

/**
 * The instances a client would use now: healthy ones (passing, and warning unless
 * passingOnly, as the DNS server answers), chosen by the strategy. None: exit 1.
 */
export async function resolveService(store: Store, keys: Keys, options: ResolveOptions): Promise<ResolvedInstance[]> {
  const rows = await listInstances(store, keys, {namespace: options.namespace, name: options.name, tags: options.tags})
  const healthy = healthyOnly(rows, options.passingOnly)
  if (healthy.length === 0) {
    const tagged = options.tags?.length ? ` with tag ${options.tags.join(', ')}` : ''
    const what = rows.length === 0 ? `no instance${tagged} is registered` : `none of its ${rows.length} instance(s)${tagged} is healthy`
    throw new CnetError(`svc: ${options.name}.${options.namespace}: ${what}`, 1, 'see cnet svc list')
  }
  const service = `${options.namespace}/${options.name}${options.tags?.length ? `#${[...options.tags].sort().join(',')}` : ''}`
  const file = options.stateFile ?? positionsFile()
  const position = options.strategy === 'round-robin' ? (readPositions(file)[service] ?? 0) : undefined
  const {picked, nextPosition} = select(healthy, {strategy: options.strategy, count: options.count, key: options.key, position})
  if (nextPosition !== undefined) storePosition(file, service, nextPosition)
  return picked.map(({id, address, port, status, weight, node, tags}) => ({id, address, port, status, weight, node, tags}))
}
