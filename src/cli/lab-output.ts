import type {LabReport} from '../lab/up.js'
import {paint, statusColour, table} from './output.js'

/** The human summary of `lab up` and `lab status`. */
export function renderLabReport(report: LabReport): string {
  const proof = (ok: boolean) => (ok ? paint.green('ok') : paint.red('FAILED'))
  const {proofs} = report
  return [
    table(['node', 'namespace', 'public IP', 'subnet'], report.nodes.map((n) => [n.name, n.namespace, n.publicIp, n.subnet])),
    table(['pod', 'node', 'address'], report.pods.map((p) => [p.name, p.node, p.address])),
    table(['service instance', 'node', 'address', 'health'], report.services.map((s) => [s.id, s.node, s.address, statusColour(s.status)])),
    table(
      ['proof', 'result', 'detail'],
      [
        [`${proofs.crossNodeFetch.from} fetched a page from ${proofs.crossNodeFetch.to}`, proof(proofs.crossNodeFetch.ok), proofs.crossNodeFetch.detail],
        [`resolved ${proofs.dnsResolve.name} through cnet's DNS`, proof(proofs.dnsResolve.ok), proofs.dnsResolve.detail],
        ['got every healthy address', proof(proofs.allHealthyAddresses.ok), proofs.allHealthyAddresses.detail],
      ],
    ),
    daemonLine(report),
    `${report.proved ? paint.green('lab is up') : paint.red('lab is NOT healthy')} (${(report.durationMs / 1000).toFixed(1)} s)`,
  ].join('\n')
}

function daemonLine(report: LabReport): string {
  const dead = report.daemons.filter((d) => !d.running).map((d) => d.name)
  const parts = [`processes: ${report.daemons.length - dead.length} of ${report.daemons.length} running`]
  if (dead.length) parts.push(paint.red(`not running: ${dead.join(', ')}`))
  if (report.restarted?.length) parts.push(paint.yellow(`restarted: ${report.restarted.join(', ')}`))
  return parts.join('; ')
}
