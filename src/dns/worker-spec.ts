import type {LogFormat, LogLevel} from '../lib/log.js'
import type {KeyRoots} from '../store/keys.js'
import type {StoreOptions} from '../store/store.js'
import type {ServeSettings} from './serve-options.js'

/**
 * What a worker runs with, from the primary: the settings it read and checked, and the
 * command line's global settings (how to reach etcd, the key roots, how to log). A
 * worker runs `entry`, not the CLI: it starts listing etcd before it
 * loads the server, and parses no command line.
 */
export interface WorkerLaunch {
  /** The module a worker runs (src/cli/dns-worker.ts): the CLI's, which knows the global flags. */
  entry: string
  storeOptions: StoreOptions
  roots: KeyRoots
  log: {level: LogLevel; format: LogFormat}
  /** The command's flags and their environment variables, so a worker names a bad setting as the CLI would. */
  flags: Record<string, {env?: string}>
}

export interface WorkerSpec extends WorkerLaunch {
  settings: ServeSettings
  /**
   * Another worker answers already: this one parses its listing as it reads it (a lower
   * peak of memory) instead of parsing when first needed (a sooner first answer).
   */
  joinsServingPool: boolean
}

/** The environment variable a worker finds its WorkerSpec in. */
export const WORKER_SPEC_ENV = 'CNET_DNS_WORKER'
