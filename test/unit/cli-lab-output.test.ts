import {describe, expect, it} from '@jest/globals'
import {renderLabReport} from '../../src/cli/lab-output.js'
import type {LabReport} from '../../src/lab/up.js'

const REPORT: LabReport = {
  nodes: [
    {name: 'node1', namespace: 'cnl-node1', publicIp: '10.77.0.11', subnet: '10.78.9.0/24'},
    {name: 'node2', namespace: 'cnl-node2', publicIp: '10.77.0.12', subnet: '10.78.53.0/24'},
  ],
  pods: [
    {name: 'node2-web1', node: 'node2', namespace: 'cnl-node2-web1', address: '10.78.53.2'},
    {name: 'node1-web1', node: 'node1', namespace: 'cnl-node1-web1', address: '10.78.9.2'},
  ],
  services: [
    {id: 'node2-web1', node: 'node2', address: '10.78.53.2', status: 'passing'},
    {id: 'node1-web1', node: 'node1', address: '10.78.9.2', status: 'critical'},
  ],
  daemons: [
    {name: 'etcd', pid: 1, running: true},
    {name: 'node1-health', pid: 2, running: false},
  ],
  restarted: ['node1-health'],
  proofs: {
    crossNodeFetch: {ok: true, detail: 'hello from node1-web1', from: 'node2-web1', to: 'node1-web1'},
    dnsResolve: {ok: false, detail: 'getent: no answer', name: 'web.default.svc.cluster.local', addresses: []},
    allHealthyAddresses: {ok: true, detail: '2 of 2', expected: [], got: []},
  },
  proved: false,
  durationMs: 12_345,
}

describe('the lab report', () => {
  it('is four tables (pods and services by address), the processes and the verdict', () => {
    const blocks = renderLabReport(REPORT, {}).split('\n\n')
    expect(blocks).toHaveLength(5)
    expect(blocks[0].split('\n')).toEqual(['NODE\tNAMESPACE\tPUBLIC IP\tSUBNET', 'node1\tcnl-node1\t10.77.0.11\t10.78.9.0/24', 'node2\tcnl-node2\t10.77.0.12\t10.78.53.0/24'])
    expect(blocks[1].split('\n')).toEqual(['POD\tNODE\tADDRESS', 'node1-web1\tnode1\t10.78.9.2', 'node2-web1\tnode2\t10.78.53.2'])
    expect(blocks[2].split('\n').slice(1)).toEqual(['node1-web1\tnode1\t10.78.9.2\tcritical', 'node2-web1\tnode2\t10.78.53.2\tpassing'])
    expect(blocks[3].split('\n')).toEqual([
      'PROOF\tRESULT\tDETAIL',
      'node2-web1 fetched a page from node1-web1\tok\thello from node1-web1',
      "resolved web.default.svc.cluster.local through cnet's DNS\tFAILED\tgetent: no answer",
      'got every healthy address\tok\t2 of 2',
    ])
    expect(blocks[4]).toBe('processes: 1 of 2 running; not running: node1-health; restarted: node1-health\nlab is NOT healthy (12.3 s)')
  })

  it('--wide adds the pod namespaces; --no-headers leaves out every header row', () => {
    const wide = renderLabReport(REPORT, {wide: true, headers: false}).split('\n\n')
    expect(wide[1].split('\n')).toEqual(['node1-web1\tnode1\t10.78.9.2\tcnl-node1-web1', 'node2-web1\tnode2\t10.78.53.2\tcnl-node2-web1'])
    expect(wide[0].split('\n')).toHaveLength(2)
  })
})
