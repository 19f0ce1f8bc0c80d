import {ConfigError} from '../lib/errors.js'
import {openStore} from '../store/index.js'
import {restartDeadDaemons} from './daemons.js'
import {type LabReport, PROOF_SETTLE_MS, labReport} from './up.js'
import {requireLabState} from './state.js'
import {namespacesWithPrefix} from './underlay.js'

/** Re-runs the proofs against a running lab. */
export async function labStatus(stateDir: string): Promise<LabReport> {
  const state = requireLabState(stateDir)
  // Without its namespaces the lab's etcd address is gone too: say so instead of asking whatever answers there.
  const present = new Set(await namespacesWithPrefix(state.layout.names?.prefix ?? state.layout.underlayNs.replace(/ul$/, '')))
  const missing = [state.layout.underlayNs, ...state.layout.nodes.map((n) => n.ns)].filter((ns) => !present.has(ns))
  if (missing.length > 0) throw new ConfigError(`lab: the lab in ${stateDir} is broken: its namespaces ${missing.join(', ')} are gone`, 'run cnet lab down, then cnet lab up')
  const restarted = restartDeadDaemons(stateDir)
  const store = await openStore({endpoints: [state.layout.etcdEndpoint], deadlineMs: 2000})
  try {
    // A restarted daemon needs a moment before the proofs pass; a lab that is fine passes at once.
    return {...(await labReport(state, store, Date.now(), restarted.length > 0 ? PROOF_SETTLE_MS : 3000)), restarted}
  } finally {
    await store.close()
  }
}
