import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {CnetError, ConflictError, ExitCode} from '../lib/errors.js'
import type {Logger} from '../lib/log.js'
import {runCommand} from '../lib/run-command.js'
import {formatCidr} from '../net/ip.js'
import {parseSubnetEnv} from '../net/subnet-env.js'
import {openStore} from '../store/index.js'
import {Keys} from '../store/keys.js'
import type {Store} from '../store/store.js'
import {effectiveStatus, parseHealth, parseRegistration} from '../svc/model.js'
import {CNET_BIN, daemonStatus, pidFilesUnder, startCnetDaemon, startDaemon} from './daemons.js'
import {DEFAULT_LAB_NAMES, LAB_ETCD_PORT, type LabLayout, type LabNames, type LabNode, type LabPod, POD_HTTP_PORT, labLayout} from './layout.js'
import {type LabProofs, allProved, runProofs} from './proofs.js'
import {type LabState, readLabState, saveLabState} from './state.js'
import {addNamespace, createUnderlay, namespacesWithPrefix} from './underlay.js'

export interface LabOptions {
  stateDir: string
  nodes: number
  podsPerNode: number
  /** The lab's own prefix, underlay and network (default DEFAULT_LAB_NAMES). */
  names?: LabNames
  logger: Logger
}

export interface LabReport {
  nodes: {name: string; namespace: string; publicIp: string; subnet: string}[]
  pods: {name: string; node: string; namespace: string; address: string}[]
  services: {id: string; node: string; address: string; status: string}[]
  daemons: {name: string; pid?: number; running: boolean}[]
  /** `lab status` only: daemons found dead and started again. */
  restarted?: string[]
  proofs: LabProofs
  proved: boolean
  durationMs: number
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new CnetError('lab: needs root to create network namespaces; run it as root (sudo cnet lab ...)', ExitCode.failure)
}

const cnet = (args: string[], env: Record<string, string>, ns?: string, input?: string) =>
  ns ? runCommand('ip', ['netns', 'exec', ns, process.execPath, CNET_BIN, ...args], {env, input}) : runCommand(process.execPath, [CNET_BIN, ...args], {env, input})

async function waitUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new CnetError(`lab: timed out after ${timeoutMs / 1000} s waiting for ${what}`, ExitCode.failure, 'see the logs under the state directory; cnet lab down cleans up')
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** How long lab up and lab status give the proofs to pass before reporting a failure. */
export const PROOF_SETTLE_MS = 20_000

export async function labUp(options: LabOptions): Promise<LabReport> {
  requireRoot()
  const started = Date.now()
  const log = options.logger
  const names = options.names ?? DEFAULT_LAB_NAMES
  const layout = labLayout(options.stateDir, options.nodes, options.podsPerNode, names)
  if (readLabState(options.stateDir) || (await namespacesWithPrefix(names.prefix)).length > 0) {
    throw new ConflictError(`lab: a lab is already up in ${options.stateDir} or with the prefix ${names.prefix} (or left over from a crash)`, 'run cnet lab down first, or give this lab its own state directory, prefix, underlay and network', 'state-dir,prefix,underlay,network')
  }
  const state: LabState = {layout, podAddresses: {}, nodeSubnets: {}, startedAt: new Date().toISOString()}
  mkdirSync(layout.stateDir, {recursive: true})
  saveLabState(state)
  const env = {CNET_ETCD_ENDPOINTS: layout.etcdEndpoint, CNET_LOG_FORMAT: 'json', NO_COLOR: '1'}

  log.info(`underlay: ${layout.nodes.length} node namespaces on a bridge`)
  await createUnderlay({
    bridgeNs: layout.underlayNs,
    hosts: layout.nodes.map((n) => ({ns: n.ns, veth: n.veth, bridgePort: n.bridgePort, address: n.address})),
    rootVeth: layout.rootVeth,
    rootBridgePort: layout.rootBridgePort,
    rootAddress: layout.rootAddress,
    prefixLength: 24,
  })

  log.info(`etcd: ${layout.etcdEndpoint}`)
  startEtcd(layout)
  const store = await openStore({endpoints: [layout.etcdEndpoint], deadlineMs: 2000})
  try {
    await waitUntil('etcd', 15_000, async () => store.revision())
    await cnet(['network', 'init', '--network', layout.names.network], env)

    log.info('nodes: subnet lease --keep, vxlan up --watch, health run')
    await Promise.all(layout.nodes.map((node) => startNode(node, env)))
    for (const node of layout.nodes) state.nodeSubnets[node.name] = await waitUntil(`the lease of ${node.name}`, 20_000, async () => readSubnet(node))
    saveLabState(state)
    startCnetDaemon('dns', layout.nodes[0].ns, layout.nodes[0].dir, ['dns', 'serve', '--listen', '0.0.0.0:53'], env)

    log.info(`pods: ${layout.nodes.length * options.podsPerNode} through cnet cni, each serving HTTP and registered as web`)
    // All at once: host-local IPAM locks its own store, so concurrent ADDs on a node are safe.
    await Promise.all(layout.nodes.flatMap((node) => node.pods.map(async (pod) => (state.podAddresses[pod.name] = await startPod(layout, node, pod, env)))))
    saveLabState(state)

    log.info('waiting for the overlay routes and passing health checks')
    await waitUntil('overlay routes on every node', 30_000, async () => ((await overlayComplete(layout, state)) ? true : undefined))
    await waitUntil('every pod passing its health check', 30_000, async () => {
      const services = await serviceHealth(store)
      return services.length === Object.keys(state.podAddresses).length && services.every((s) => s.status === 'passing') ? true : undefined
    })
    return await labReport(state, store, started, PROOF_SETTLE_MS)
  } finally {
    await store.close()
  }
}

function startEtcd(layout: LabLayout): void {
  const peer = `http://${layout.rootAddress}:${LAB_ETCD_PORT + 1}`
  startDaemon({
    name: 'etcd',
    command: 'etcd',
    dir: layout.stateDir,
    args: [
      '--name', 'cnet-lab', '--data-dir', layout.etcdDir,
      '--listen-client-urls', layout.etcdEndpoint, '--advertise-client-urls', layout.etcdEndpoint,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `cnet-lab=${peer}`,
    ],
  })
}

async function startNode(node: LabNode, env: Record<string, string>): Promise<void> {
  mkdirSync(node.dir, {recursive: true})
  const common = ['--subnet-file', node.subnetFile]
  startCnetDaemon('subnet', node.ns, node.dir, ['subnet', 'lease', '--keep', '--public-ip', node.address, '--ip-masq', ...common], env)
  await waitUntil(`subnet.env of ${node.name}`, 20_000, async () => readSubnet(node))
  startCnetDaemon('vxlan', node.ns, node.dir, ['vxlan', 'up', '--watch', '--iface', 'eth0', '--ip-masq', ...common], env)
  startCnetDaemon('health', node.ns, node.dir, ['health', 'run', '--node', node.name], env)
}

function readSubnet(node: LabNode): string | undefined {
  if (!existsSync(node.subnetFile)) return undefined
  const parsed = parseSubnetEnv(readFileSync(node.subnetFile, 'utf8'))
  return parsed.ok && parsed.env.subnet ? formatCidr(parsed.env.subnet) : undefined
}

/** Attaches a pod through `cnet cni` run inside its node, as a runtime would, and starts its server. */
async function startPod(layout: LabLayout, node: LabNode, pod: LabPod, env: Record<string, string>): Promise<string> {
  await addNamespace(pod.ns)
  const conf = {cniVersion: '1.0.0', name: 'cnet-lab', type: 'cnet', subnetFile: node.subnetFile, dataDir: node.cniDataDir}
  const cniEnv = {CNI_COMMAND: 'ADD', CNI_CONTAINERID: pod.containerId, CNI_NETNS: `/var/run/netns/${pod.ns}`, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni'}
  const added = await cnet(['cni'], {...env, ...cniEnv}, node.ns, JSON.stringify(conf))
  const result = JSON.parse(added.stdout) as {ips?: {address: string}[]}
  const address = result.ips?.[0]?.address.split('/')[0]
  if (!address) throw new CnetError(`lab: cnet cni returned no address for ${pod.name}: ${added.stdout}`)
  // Pods resolve through cnet's DNS on node 1 (glibc reads /etc/netns/<ns>/resolv.conf under ip netns exec).
  const resolvDir = join('/etc/netns', pod.ns)
  mkdirSync(resolvDir, {recursive: true})
  writeFileSync(join(resolvDir, 'resolv.conf'), `nameserver ${layout.nodes[0].address}\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions timeout:2 attempts:2\n`)
  const server = `require('http').createServer((q, s) => s.end('hello from ${pod.name}\\n')).listen(${POD_HTTP_PORT})`
  startDaemon({name: `${pod.name}-http`, ns: pod.ns, command: process.execPath, args: ['-e', server], dir: node.dir})
  await cnet(
    ['svc', 'register', 'web', '--address', address, '--port', String(POD_HTTP_PORT), '--id', pod.id, '--node', node.name, '--check-http', `http://${address}:${POD_HTTP_PORT}/`, '--interval', '1s', '--timeout', '1s'],
    env,
  )
  return address
}

async function overlayComplete(layout: LabLayout, state: LabState): Promise<boolean> {
  for (const node of layout.nodes) {
    const {stdout} = await runCommand('ip', ['-n', node.ns, '-j', 'route', 'show'])
    const routes = new Set((JSON.parse(stdout) as {dst: string}[]).map((r) => r.dst))
    for (const other of layout.nodes) if (other !== node && !routes.has(state.nodeSubnets[other.name])) return false
  }
  return true
}

export async function serviceHealth(store: Store): Promise<LabReport['services']> {
  const keys = new Keys()
  const [services, health] = await Promise.all([store.list(keys.servicesPrefix('default', 'web')), store.list(keys.healthPrefix('default', 'web'))])
  const healthById = new Map(health.items.map((item) => [keys.instanceOf(item.key)?.id, parseHealth(item.value)]))
  return services.items.flatMap((item) => {
    const registration = parseRegistration(item.value)
    if (!registration) return []
    return [{id: registration.id, node: registration.node, address: registration.address, status: effectiveStatus(registration, healthById.get(registration.id))}]
  })
}

/**
 * Runs the proofs until they all pass or `settleMs` has gone by, and reports the last
 * try. Health passing in etcd is not yet DNS answering with it: cnet dns serve learns of
 * the change through its watch a moment later, so a single try right after would race it.
 */
export async function labReport(state: LabState, store: Store, started: number, settleMs = 0): Promise<LabReport> {
  const {layout} = state
  const deadline = Date.now() + settleMs
  let services: LabReport['services']
  let proofs: LabProofs
  for (;;) {
    services = await serviceHealth(store)
    proofs = await runProofs(state, services.filter((s) => s.status !== 'critical').map((s) => s.address))
    if (allProved(proofs) || Date.now() >= deadline) break
    await new Promise((r) => setTimeout(r, 250))
  }
  return {
    nodes: layout.nodes.map((n) => ({name: n.name, namespace: n.ns, publicIp: n.address, subnet: state.nodeSubnets[n.name] ?? ''})),
    pods: layout.nodes.flatMap((n) => n.pods.map((p) => ({name: p.name, node: n.name, namespace: p.ns, address: state.podAddresses[p.name] ?? ''}))),
    services,
    daemons: pidFilesUnder(layout.stateDir).map(daemonStatus),
    proofs,
    proved: allProved(proofs),
    durationMs: Date.now() - started,
  }
}

export function removeResolvConfs(layout: LabLayout): void {
  for (const node of layout.nodes) for (const pod of node.pods) rmSync(join('/etc/netns', pod.ns), {recursive: true, force: true})
}
