import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {renderLabReport} from '../../cli/lab-output.js'
import {tableFlags} from '../../cli/table-flags.js'
import {CnetError, ExitCode} from '../../lib/errors.js'
import {DEFAULT_LAB_NAMES, MAX_NODES, MAX_PODS_PER_NODE} from '../../lab/layout.js'
import {DEFAULT_LAB_DIR} from '../../lab/state.js'
import {type LabReport, labUp} from '../../lab/up.js'

export default class LabUp extends BaseCommand<typeof LabUp> {
  static override summary = 'Bring up a whole cluster on this machine: etcd, nodes, overlay, pods, services, DNS'
  static override description =
    'Each node is a network namespace on a shared underlay bridge running `cnet subnet lease --keep`, `cnet vxlan up --watch` and `cnet health run`; each pod is a namespace attached with `cnet cni`, serving HTTP and registered as service web; node 1 runs `cnet dns serve`. Ends with three proofs, tried again for up to 20 s until they pass (DNS learns of passing health through its watch a moment after etcd does). Needs root.'
  static override examples = [
    '<%= config.bin %> lab up',
    '<%= config.bin %> lab up --nodes 5 --pods-per-node 1 --json | jq .proofs',
    '<%= config.bin %> lab up --state-dir /tmp/lab2 --prefix lb2- --underlay 10.215.0.0/24 --network 10.216.0.0/16   # a second lab beside the first',
  ]

  static override flags = {
    nodes: Flags.integer({description: `number of nodes (1 to ${MAX_NODES})`, default: 3, min: 1, max: MAX_NODES}),
    'pods-per-node': Flags.integer({description: `pods on each node (1 to ${MAX_PODS_PER_NODE})`, default: 2, min: 1, max: MAX_PODS_PER_NODE}),
    'state-dir': Flags.string({description: 'where the lab keeps etcd data, logs and PID files', default: DEFAULT_LAB_DIR, env: 'CNET_LAB_DIR'}),
    prefix: Flags.string({description: "starts the name of every namespace and interface the lab makes (a second lab needs its own)", default: DEFAULT_LAB_NAMES.prefix, env: 'CNET_LAB_PREFIX'}),
    underlay: Flags.string({description: "the /24 the nodes' underlay addresses come from", default: DEFAULT_LAB_NAMES.underlay, env: 'CNET_LAB_UNDERLAY'}),
    network: Flags.string({description: 'the cluster network the nodes lease subnets of', default: DEFAULT_LAB_NAMES.network, env: 'CNET_LAB_NETWORK'}),
    ...tableFlags,
  }

  async run(): Promise<LabReport> {
    const f = this.flags
    const names = {prefix: f.prefix, underlay: f.underlay, network: f.network}
    const report = await labUp({stateDir: f['state-dir'], nodes: f.nodes, podsPerNode: f['pods-per-node'], names, logger: this.logger.child('lab')})
    this.log(renderLabReport(report, {wide: f.wide, headers: !f['no-headers']}))
    if (!report.proved) throw new CnetError('lab: the cluster came up but a proof failed (see the table)', ExitCode.failure, 'logs are under the state directory')
    return report
  }
}
