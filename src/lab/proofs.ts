import {runCommand} from '../lib/run-command.js'
import {type LabState} from './state.js'
import {POD_HTTP_PORT} from './layout.js'

/**
 * The three things `lab up` and `lab status` prove, each with real clients inside the
 * pods: curl across the overlay, glibc's resolver through cnet's DNS, and the
 * resolved addresses against what is registered and healthy.
 */
export const SERVICE_NAME = 'web.default.svc.cluster.local'

export interface Proof {
  ok: boolean
  detail: string
}

export interface LabProofs {
  crossNodeFetch: Proof & {from: string; to: string}
  dnsResolve: Proof & {name: string; addresses: string[]}
  allHealthyAddresses: Proof & {expected: string[]; got: string[]}
}

export async function runProofs(state: LabState, healthyAddresses: string[]): Promise<LabProofs> {
  const first = state.layout.nodes[0].pods[0]
  const lastNode = state.layout.nodes[state.layout.nodes.length - 1]
  const client = lastNode.pods[lastNode.pods.length - 1]
  const target = state.podAddresses[first.name]
  const fetch = await runCommand('ip', ['netns', 'exec', client.ns, 'curl', '-s', '--max-time', '5', `http://${target}:${POD_HTTP_PORT}/`], {allowFailure: true})
  const fetched = fetch.exitCode === 0 && fetch.stdout.includes(`hello from ${first.name}`)
  const resolve = await runCommand('ip', ['netns', 'exec', client.ns, 'getent', 'ahostsv4', SERVICE_NAME], {allowFailure: true, timeoutMs: 15_000})
  const addresses = [...new Set(resolve.stdout.split('\n').map((line) => line.split(/\s+/)[0]).filter(Boolean))].sort()
  const expected = [...healthyAddresses].sort()
  return {
    crossNodeFetch: {
      ok: fetched,
      from: client.name,
      to: `${first.name} (${target})`,
      detail: fetched ? fetch.stdout.trim() : `curl exited ${fetch.exitCode}: ${fetch.stderr.trim() || fetch.stdout.trim()}`,
    },
    dnsResolve: {
      ok: resolve.exitCode === 0 && addresses.length > 0,
      name: SERVICE_NAME,
      addresses,
      detail: resolve.exitCode === 0 ? `getent in ${client.name}: ${addresses.join(' ')}` : `getent exited ${resolve.exitCode}`,
    },
    allHealthyAddresses: {
      ok: expected.length > 0 && JSON.stringify(addresses) === JSON.stringify(expected),
      expected,
      got: addresses,
      detail: `${addresses.length} of ${expected.length} healthy instances resolved`,
    },
  }
}

export const allProved = (proofs: LabProofs) => proofs.crossNodeFetch.ok && proofs.dnsResolve.ok && proofs.allHealthyAddresses.ok
