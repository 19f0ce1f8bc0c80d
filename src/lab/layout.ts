import {join} from 'node:path'

/**
 * The lab's names, addresses and paths, computed from the node and pod counts alone
 * (pure). Every namespace and interface starts with LAB_PREFIX, so `lab down` removes
 * exactly what the lab made and nothing else.
 */
export const LAB_PREFIX = 'cnl-'
export const LAB_UNDERLAY = '10.213.0'
export const LAB_NETWORK = '10.214.0.0/16'
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
  underlayNs: string
  /** The root namespace's end on the underlay, where etcd listens. */
  rootVeth: string
  rootBridgePort: string
  rootAddress: string
  etcdEndpoint: string
  etcdDir: string
  nodes: LabNode[]
}

export function labLayout(stateDir: string, nodeCount: number, podsPerNode: number): LabLayout {
  const rootAddress = `${LAB_UNDERLAY}.254`
  const nodes: LabNode[] = []
  for (let i = 1; i <= nodeCount; i++) {
    const name = `node${i}`
    const dir = join(stateDir, name)
    const pods: LabPod[] = []
    for (let p = 1; p <= podsPerNode; p++) {
      const podName = `${name}-web${p}`
      pods.push({name: podName, ns: `${LAB_PREFIX}n${i}p${p}`, node: name, id: `n${i}-web${p}`, containerId: `cnet-lab-n${i}p${p}`})
    }
    nodes.push({
      index: i,
      name,
      ns: `${LAB_PREFIX}n${i}`,
      veth: `${LAB_PREFIX}n${i}`,
      bridgePort: `${LAB_PREFIX}b${i}`,
      address: `${LAB_UNDERLAY}.${i}`,
      dir,
      subnetFile: join(dir, 'subnet.env'),
      cniDataDir: join(dir, 'cni'),
      pods,
    })
  }
  return {
    stateDir,
    underlayNs: `${LAB_PREFIX}ul`,
    rootVeth: `${LAB_PREFIX}r0`,
    rootBridgePort: `${LAB_PREFIX}br`,
    rootAddress,
    etcdEndpoint: `http://${rootAddress}:${LAB_ETCD_PORT}`,
    etcdDir: join(stateDir, 'etcd'),
    nodes,
  }
}
