import type {LabReport} from '../lab/up.js'
import {type Column, type TableOptions, compareAddresses, paint, renderTable, statusColour} from './output.js'

type Node = LabReport['nodes'][number]
type Pod = LabReport['pods'][number]
type Service = LabReport['services'][number]
type Proof = {what: string; ok: boolean; detail: string}

const NODES: Column<Node>[] = [
  {header: 'NODE', value: (n) => n.name},
  {header: 'NAMESPACE', value: (n) => n.namespace},
  {header: 'PUBLIC IP', value: (n) => n.publicIp},
  {header: 'SUBNET', value: (n) => n.subnet},
]
const PODS: Column<Pod>[] = [
  {header: 'POD', value: (p) => p.name},
  {header: 'NODE', value: (p) => p.node},
  {header: 'ADDRESS', value: (p) => p.address},
  {header: 'NAMESPACE', value: (p) => p.namespace, wide: true},
]
const SERVICES: Column<Service>[] = [
  {header: 'SERVICE INSTANCE', value: (s) => s.id},
  {header: 'NODE', value: (s) => s.node},
  {header: 'ADDRESS', value: (s) => s.address},
  {header: 'HEALTH', value: (s) => s.status, colour: (text) => statusColour(text)},
]
const PROOFS: Column<Proof>[] = [
  {header: 'PROOF', value: (p) => p.what},
  {header: 'RESULT', value: (p) => (p.ok ? 'ok' : 'FAILED'), colour: (text, p) => (p.ok ? paint.green(text) : paint.red(text))},
  {header: 'DETAIL', value: (p) => p.detail, truncate: true},
]

/** The human summary of `lab up` and `lab status`: four tables, then the processes and the verdict. */
export function renderLabReport(report: LabReport, options: TableOptions = {}): string {
  const {proofs} = report
  const proofRows: Proof[] = [
    {what: `${proofs.crossNodeFetch.from} fetched a page from ${proofs.crossNodeFetch.to}`, ok: proofs.crossNodeFetch.ok, detail: proofs.crossNodeFetch.detail},
    {what: `resolved ${proofs.dnsResolve.name} through cnet's DNS`, ok: proofs.dnsResolve.ok, detail: proofs.dnsResolve.detail},
    {what: 'got every healthy address', ok: proofs.allHealthyAddresses.ok, detail: proofs.allHealthyAddresses.detail},
  ]
  const byAddress = <T extends {address: string}>(rows: T[]) => [...rows].sort((a, b) => compareAddresses(a.address, b.address))
  return [
    renderTable(NODES, report.nodes, options),
    renderTable(PODS, byAddress(report.pods), options),
    renderTable(SERVICES, byAddress(report.services), options),
    renderTable(PROOFS, proofRows, options),
    [daemonLine(report), `${report.proved ? paint.green('lab is up') : paint.red('lab is NOT healthy')} (${(report.durationMs / 1000).toFixed(1)} s)`].join('\n'),
  ]
    .filter(Boolean)
    .join('\n\n')
}

function daemonLine(report: LabReport): string {
  const dead = report.daemons.filter((d) => !d.running).map((d) => d.name)
  const parts = [`processes: ${report.daemons.length - dead.length} of ${report.daemons.length} running`]
  if (dead.length) parts.push(paint.red(`not running: ${dead.join(', ')}`))
  if (report.restarted?.length) parts.push(paint.yellow(`restarted: ${report.restarted.join(', ')}`))
  return parts.join('; ')
}
