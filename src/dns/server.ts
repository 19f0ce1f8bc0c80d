import {availableParallelism} from 'node:os'
import type {Logger} from '../lib/log.js'
import {readStoreCredentials} from '../store/credentials.js'
import type {Keys} from '../store/keys.js'
import type {Store} from '../store/store.js'
import {type ServeRequest, loadSettings, reloadSettings, withReloadSignal} from './serve-settings.js'
import {type WorkerPool, runWorkers} from './workers.js'

/**
 * Runs the DNS server until `stop` fires: in this process, or in workers. Reads the
 * config (a ConfigError for a bad file, InvalidValueError for a bad setting), and
 * reloads it on SIGHUP: a good file replaces the running config without closing a
 * socket; a bad one is logged and the running config stays.
 */
export async function runDnsServer(openStore: () => Promise<Store>, keys: Keys, logger: Logger, request: ServeRequest, stop: AbortSignal): Promise<void> {
  const cores = availableParallelism()
  const first = await loadSettings(request, {cores})
  if (first.options.workers > 1) {
    // The workers open etcd, not this process: a TLS file it cannot read is told here, once, not by each worker in turn.
    if (request.launch) readStoreCredentials(request.launch.storeOptions)
    let pool: WorkerPool | undefined
    const reload = async () => {
      if (!pool) return
      const next = await reloadSettings(request, {cores}, first.options, logger)
      pool.reloads.labels(next ? 'ok' : 'failed').inc()
      if (next) pool.reload(next.settings)
    }
    return withReloadSignal(reload, () =>
      runWorkers({count: first.options.workers, http: first.options.http, settings: first.settings, launch: request.launch, onServing: (p) => (pool = p)}, logger, stop),
    )
  }
  // Loaded here, not above: a primary with workers never answers a query, and loading the
  // query path first delayed its first worker by a tenth of a second or more.
  const {serveFromStore} = await import('./serve-in-process.js')
  return serveFromStore(await openStore(), keys, logger, first.settings, request, stop)
}

