import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {renderLabReport} from '../../cli/lab-output.js'
import {CnetError, ExitCode} from '../../lib/errors.js'
import {MAX_NODES, MAX_PODS_PER_NODE} from '../../lab/layout.js'
import {DEFAULT_LAB_DIR} from '../../lab/state.js'
import {type LabReport, labUp} from '../../lab/up.js'

export default class LabUp extends BaseCommand<typeof LabUp> {
  static override summary = 'Bring up a whole cluster on this machine: etcd, nodes, overlay, pods, services, DNS'
  static override description =
    'Each node is a network namespace on a shared underlay bridge running `cnet subnet lease --keep`, `cnet vxlan up --watch` and `cnet health run`; each pod is a namespace attached with `cnet cni`, serving HTTP and registered as service web; node 1 runs `cnet dns serve`. Ends with three proofs. Needs root.'
  static override examples = ['<%= config.bin %> lab up', '<%= config.bin %> lab up --nodes 5 --pods-per-node 1 --json | jq .proofs']

  static override flags = {
    nodes: Flags.integer({description: `number of nodes (1 to ${MAX_NODES})`, default: 3, min: 1, max: MAX_NODES}),
    'pods-per-node': Flags.integer({description: `pods on each node (1 to ${MAX_PODS_PER_NODE})`, default: 2, min: 1, max: MAX_PODS_PER_NODE}),
    'state-dir': Flags.string({description: 'where the lab keeps etcd data, logs and PID files', default: DEFAULT_LAB_DIR, env: 'CNET_LAB_DIR'}),
  }

  async run(): Promise<LabReport> {
    const report = await labUp({stateDir: this.flags['state-dir'], nodes: this.flags.nodes, podsPerNode: this.flags['pods-per-node'], logger: this.logger.child('lab')})
    this.log(renderLabReport(report))
    if (!report.proved) throw new CnetError('lab: the cluster came up but a proof failed (see the table)', ExitCode.failure, 'logs are under the state directory')
    return report
  }
}
