import {join} from 'node:path'
import {InvalidValueError} from '../lib/errors.js'
import {cidrsOverlap, formatCidr, hasHostBits, parseCidr} from '../net/ip.js'

/**
 * The lab's names, addresses and paths, computed from the node and pod counts and the
 * lab's names alone (pure). Every namespace and interface starts with the lab's prefix,
 * so `lab down` removes exactly what that lab made and nothing else, and two labs with
 * different prefixes, underlays and networks (a user's `npm start` and the test suite's
 * own) run side by side.
 */
export interface LabNames {
  /** Starts every namespace and root-namespace interface, e.g. "cnl-". */
  prefix: string
  /** The /24 the nodes' underlay addresses come from (.1, .2, ...; .254 for etcd). */
  underlay: string
  /** The cluster network the nodes lease subnets of. */
  network: string
}

export const DEFAULT_LAB_NAMES: LabNames = {prefix: 'cnl-', underlay: '10.213.0.0/24', network: '10.214.0.0/16'}
export const LAB_ETCD_PORT = 2379
export const POD_HTTP_PORT = 8080
export const MAX_NODES = 20
export const MAX_PODS_PER_NODE = 20

export interface LabNode {
  index: number
  name: string
  /** Network namespace of the node. */
  ns: string
  /** Host-side and bridge-side ends of its veth to the underlay bridge. */
  veth: string
  bridgePort: string
  address: string
  dir: string
  subnetFile: string
  cniDataDir: string
  pods: LabPod[]
}

export interface LabPod {
  name: string
  ns: string
  node: string
  /** Service instance id. */
  id: string
  containerId: string
}

export interface LabLayout {
  stateDir: string
  names: LabNames
  underlayNs: string
  /** The root namespace's end on the underlay, where etcd listens. */
  rootVeth: string
  rootBridgePort: string
  rootAddress: string
  etcdEndpoint: string
  etcdDir: string
  nodes: LabNode[]
}

/** Checks a lab's names: a short prefix (names must fit 15 characters), an IPv4 /24 underlay, a network apart from it. */
export function validateLabNames(names: LabNames): LabNames {
  if (!/^[a-z][a-z0-9]{0,4}-$/.test(names.prefix)) throw new InvalidValueError('prefix', `"${names.prefix}" is not a lab prefix`, 'a lowercase letter, up to 4 more letters or digits, and a dash, e.g. cnl-')
  const underlay = parseCidr(names.underlay)
  if (!underlay || underlay.family !== 4 || underlay.prefix !== 24 || hasHostBits(underlay)) throw new InvalidValueError('underlay', `"${names.underlay}" is not an IPv4 /24 network`, 'e.g. 10.213.0.0/24')
  const network = parseCidr(names.network)
  if (!network || network.family !== 4 || hasHostBits(network) || network.prefix > 22) throw new InvalidValueError('network', `"${names.network}" is not an IPv4 network of /22 or larger`, 'e.g. 10.214.0.0/16')
  if (cidrsOverlap(underlay, network)) throw new InvalidValueError('network', `${formatCidr(network)} overlaps the underlay ${formatCidr(underlay)}`)
  return names
}

export function labLayout(stateDir: string, nodeCount: number, podsPerNode: number, names: LabNames = DEFAULT_LAB_NAMES): LabLayout {
  const {prefix} = validateLabNames(names)
  const base = names.underlay.split('.').slice(0, 3).join('.')
  const rootAddress = `${base}.254`
  const nodes: LabNode[] = []
  for (let i = 1; i <= nodeCount; i++) {
    const name = `node${i}`
    const dir = join(stateDir, name)
    const pods: LabPod[] = []
    for (let p = 1; p <= podsPerNode; p++) {
      const podName = `${name}-web${p}`
      pods.push({name: podName, ns: `${prefix}n${i}p${p}`, node: name, id: `n${i}-web${p}`, containerId: `${prefix}lab-n${i}p${p}`})
    }
    nodes.push({
      index: i,
      name,
      ns: `${prefix}n${i}`,
      veth: `${prefix}n${i}`,
      bridgePort: `${prefix}b${i}`,
      address: `${base}.${i}`,
      dir,
      subnetFile: join(dir, 'subnet.env'),
      cniDataDir: join(dir, 'cni'),
      pods,
    })
  }
  return {
    stateDir,
    names,
    underlayNs: `${prefix}ul`,
    rootVeth: `${prefix}r0`,
    rootBridgePort: `${prefix}br`,
    rootAddress,
    etcdEndpoint: `http://${rootAddress}:${LAB_ETCD_PORT}`,
    etcdDir: join(stateDir, 'etcd'),
    nodes,
  }
}
