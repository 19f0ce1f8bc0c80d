import {openStore} from '../store/index.js'
import {type LabReport, labReport} from './up.js'
import {requireLabState} from './state.js'

/** Re-runs the proofs against a running lab. */
export async function labStatus(stateDir: string): Promise<LabReport> {
  const state = requireLabState(stateDir)
  const store = await openStore({endpoints: [state.layout.etcdEndpoint], deadlineMs: 2000})
  try {
    return await labReport(state, store, Date.now())
  } finally {
    await store.close()
  }
}
