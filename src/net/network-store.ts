import {ConfigError, ConflictError, InvalidValueError} from '../lib/errors.js'
import type {Keys} from '../store/keys.js'
import type {Store} from '../store/store.js'
import {describeSubnets, leaseFitsPools, parseLeaseName} from './lease.js'
import {type ConfigProblem, type NetworkConfig, parseNetworkConfig, parseNetworkConfigText, subnetPools} from './network-config.js'

/** Reading and writing the network config in etcd. */

const INIT_HINT = 'create it with: cnet network init --network CIDR'

export async function readNetworkConfig(store: Store, keys: Keys): Promise<NetworkConfig> {
  const stored = await store.get(keys.networkConfig())
  if (!stored) throw new ConfigError(`network: no config at ${keys.networkConfig()}`, INIT_HINT)
  const parsed = parseNetworkConfigText(stored.value)
  if (!parsed.ok) throw new ConfigError(`network: config at ${keys.networkConfig()} is invalid: ${describeProblems(parsed.problems)}`)
  return parsed.config
}

export function describeProblems(problems: ConfigProblem[], names: Record<string, string> = {}): string {
  return problems.map((p) => `${names[p.field] ?? p.field}: ${p.message}`).join('; ')
}

export interface InitResult {
  config: NetworkConfig
  /** What was stored at the key: flannel's JSON, as given. */
  stored: Record<string, unknown>
  action: 'created' | 'replaced' | 'unchanged'
}

export interface InitOptions {
  force: boolean
  /**
   * Where the values came from. Values typed by the user: the first wrong one is an
   * InvalidValueError naming its field (the CLI names the flag), exit 2. A file: every
   * problem in one ConfigError, exit 3.
   */
  source: 'flags' | 'file'
}

/**
 * Validates and writes the config. Nothing is written when validation fails, when a
 * different config exists and `force` is off, or when existing leases would fall
 * outside the new network (even with `force`).
 */
export async function initNetwork(store: Store, keys: Keys, raw: Record<string, unknown>, options: InitOptions): Promise<InitResult> {
  const parsed = parseNetworkConfig(raw)
  if (!parsed.ok) {
    const [first] = parsed.problems
    if (options.source === 'flags') throw new InvalidValueError(first.field, first.message)
    throw new ConfigError(`network init: ${describeProblems(parsed.problems)}`)
  }
  const {config} = parsed
  const key = keys.networkConfig()
  const existing = await store.get(key)
  if (existing) {
    const current = parseNetworkConfigText(existing.value)
    if (current.ok && JSON.stringify(current.config) === JSON.stringify(config)) return {config, stored: raw, action: 'unchanged'}
    if (!options.force) {
      throw new ConflictError(`network init: a different config already exists at ${key}`, 'replace it only by force; cnet network show prints it', 'force')
    }
  }
  const leases = await store.list(keys.subnetsPrefix())
  const pools = subnetPools(config)
  const outside = leases.items
    .map((item) => parseLeaseName(keys.subnetNameOf(item.key) ?? ''))
    .filter((subnets) => subnets !== undefined && !leaseFitsPools(subnets, pools))
  if (outside.length > 0) {
    const sample = outside.slice(0, 3).map((s) => describeSubnets(s!)).join(', ')
    throw new ConflictError(
      `network init: ${outside.length} existing lease(s) would fall outside the new config (${sample})`,
      'release them first with cnet subnet release, or choose a network that contains them',
    )
  }
  const written = await store.compareAndSwap(key, JSON.stringify(raw), existing?.modRevision ?? 0)
  if (!written) throw new ConflictError(`network init: ${key} changed while writing`, 'run the command again')
  return {config, stored: raw, action: existing ? 'replaced' : 'created'}
}
