/**
 * A `dns serve` worker's process (forked by src/dns/workers.ts; `dns serve` names this
 * file). It parses no command line and loads neither oclif nor the server before it has
 * asked etcd for the registry: the listing is the long part of a worker's start, so etcd
 * reads the first pages while the rest of the server loads. The primary has read and
 * checked every setting.
 */
import {ServiceIndex} from '../dns/index.js'
import {WORKER_SPEC_ENV, type WorkerSpec} from '../dns/worker-spec.js'
import {createLogger} from '../lib/log.js'
import {openStore} from '../store/index.js'
import {Keys} from '../store/keys.js'
import type {Store} from '../store/store.js'
import {runUntilSignal} from './daemon.js'
import {reportFailure} from './failure.js'
import {inUserTerms} from './setting-names.js'

// As bin/run.js: Node deprecation notices (gRPC sets a TLS server name for IP endpoints) are not cnet logs.
process.noDeprecation = true
// What ps shows: the command it serves, not the file Node runs.
process.title = 'cnet dns serve (worker)'

const spec = JSON.parse(process.env[WORKER_SPEC_ENV] ?? 'null') as WorkerSpec | null
if (!spec) throw new Error(`a dns worker needs ${WORKER_SPEC_ENV} from its primary`)
const logger = createLogger(spec.log).child('dns')
const keys = new Keys(spec.roots)

let store: Store | undefined
try {
  await runUntilSignal(logger, async (stop) => {
    store = await openStore(spec.storeOptions)
    const index = new ServiceIndex(store, keys, {parseLazily: !spec.joinsServingPool})
    index.start(logger).catch(() => {}) // awaited by the server; listing begins now
    const {serveFromStore} = await import('../dns/serve-in-process.js')
    await serveFromStore(store, keys, logger, spec.settings, {commandLine: {}, logFormat: spec.log.format}, stop, index)
  })
  await store?.close().catch(() => {})
} catch (caught) {
  await store?.close().catch(() => {})
  // Told as the CLI would: a bad value named by its flag, a setting to check with its variables.
  const error = inUserTerms(caught as Error, {flags: spec.flags})
  // Exits at once: the IPC channel to the primary would keep the process alive, and a
  // worker that only disconnected would exit 0 (node:cluster's own doing).
  process.exit(reportFailure(error, {json: false, argv: [], logLevel: spec.log.level, logFormat: spec.log.format, help: 'cnet dns serve --help'}))
}
