import {openStore} from '../store/index.js'
import {restartDeadDaemons} from './daemons.js'
import {type LabReport, labReport} from './up.js'
import {requireLabState} from './state.js'

/** Re-runs the proofs against a running lab. */
export async function labStatus(stateDir: string): Promise<LabReport> {
  const state = requireLabState(stateDir)
  const restarted = restartDeadDaemons(stateDir)
  // a restarted daemon needs a moment before the proofs mean anything
  if (restarted.length > 0) await new Promise((resolve) => setTimeout(resolve, 3000))
  const store = await openStore({endpoints: [state.layout.etcdEndpoint], deadlineMs: 2000})
  try {
    return {...(await labReport(state, store, Date.now())), restarted}
  } finally {
    await store.close()
  }
}
