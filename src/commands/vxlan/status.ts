import {BaseCommand} from '../../cli/base-command.js'
import {type Column, compareAddresses, paint, renderRecord, statusColour} from '../../cli/output.js'
import {tableFlags} from '../../cli/table-flags.js'
import {KernelRunner} from '../../net/vxlan/apply.js'
import {describeOperation} from '../../net/vxlan/describe.js'
import {deviceFlag, ifaceFlag, subnetFileFlag} from '../../cli/vxlan-flags.js'
import {type PeerStatus, type StatusResult, vxlanStatus} from '../../net/vxlan/status.js'

const PEERS: Column<PeerStatus>[] = [
  {header: 'SUBNET', value: (p) => p.subnet},
  {header: 'PUBLIC IP', value: (p) => p.publicIp},
  {header: 'VTEP MAC', value: (p) => p.vtepMac},
  {header: 'HOST', value: (p) => p.hostName, truncate: true},
  {header: 'STATE', value: (p) => p.state, colour: (text) => statusColour(text)},
  {header: 'LEASE', value: (p) => p.lease, wide: true},
]

export default class VxlanStatus extends BaseCommand<typeof VxlanStatus> {
  static override summary = 'Show the VXLAN device, its peers, and any drift between etcd and the kernel'
  static override description = 'Peers are sorted by subnet; --wide adds the name of each lease.'
  static override examples = ['<%= config.bin %> vxlan status', '<%= config.bin %> vxlan status --json | jq .inSync']

  static override flags = {iface: ifaceFlag, 'subnet-file': subnetFileFlag, device: deviceFlag, ...tableFlags}

  async run(): Promise<StatusResult> {
    const f = this.flags
    const ctx = {store: await this.store(), keys: this.keys, logger: this.logger.child('vxlan'), runner: new KernelRunner()}
    const status = await vxlanStatus(ctx, {subnetFile: f['subnet-file'], iface: f.iface, deviceName: f.device, ipMasq: false})
    status.peers.sort((a, b) => compareAddresses(a.subnet, b.subnet))
    const d = status.device
    this.log(
      renderRecord([
        ['device', d.name],
        ['state', d.exists ? (d.up ? 'up' : 'down') : 'missing'],
        ['subnet', status.subnet],
        ['address', status.address],
        ['VNI / port', `${d.desired.vni} / ${d.desired.port}`],
        ['local', `${d.desired.local} dev ${d.desired.underlay}`],
        ['MAC / MTU', `${d.desired.mac} / ${d.desired.mtu}`],
        ['in sync', status.inSync ? 'yes' : `no: ${status.drift.length} operation(s) pending`, status.inSync ? paint.green : paint.yellow],
      ]),
    )
    if (status.peers.length > 0) this.log('')
    this.printTable(PEERS, status.peers, 'no peers: this is the only host with a lease')
    for (const op of status.drift) this.log(`drift: ${describeOperation(op)}`)
    for (const r of status.rejected) this.log(`ignored lease ${r.name}: ${r.reason}`)
    return status
  }
}
