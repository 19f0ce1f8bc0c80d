import {BaseCommand} from '../../cli/base-command.js'
import {type Column, type RecordField, compareAddresses, paint, renderRecord, statusColour} from '../../cli/output.js'
import {tableFlags} from '../../cli/table-flags.js'
import {IpKernel} from '../../net/vxlan/ip-kernel.js'
import {describeOperation} from '../../net/vxlan/describe.js'
import {deviceFlag, deviceV6Flag, ifaceFlag, subnetFileFlag} from '../../cli/vxlan-flags.js'
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
  static override summary = 'Show the overlay devices, their peers, and any drift between etcd and the kernel'
  static override description = 'Peers are sorted by subnet (IPv4, then IPv6); --wide adds the name of each lease. Also known as `cnet overlay status`.'
  static override examples = ['<%= config.bin %> vxlan status', '<%= config.bin %> vxlan status --json | jq .inSync']
  static override aliases = ['overlay:status']

  static override flags = {iface: ifaceFlag, 'subnet-file': subnetFileFlag, device: deviceFlag, 'device-v6': deviceV6Flag, ...tableFlags}

  async run(): Promise<StatusResult> {
    const f = this.flags
    const ctx = {store: await this.store(), keys: this.keys, logger: this.logger.child('vxlan'), kernel: new IpKernel()}
    const status = await vxlanStatus(ctx, {subnetFile: f['subnet-file'], iface: f.iface, deviceName: f.device, deviceNameV6: f['device-v6'], ipMasq: false})
    status.peers.sort((a, b) => compareAddresses(a.subnet, b.subnet))
    const record: RecordField[] = [['backend', status.backend]]
    for (const fam of status.families) {
      const d = fam.device
      const v = status.families.length > 1 ? ` (IPv${fam.family})` : ''
      if (d) record.push([`device${v}`, d.name], [`state${v}`, d.exists ? (d.up ? 'up' : 'down') : 'missing'])
      record.push([`subnet${v}`, fam.subnet])
      if (!d) continue
      record.push(
        [`address${v}`, fam.address],
        [`VNI / port${v}`, `${d.desired.vni} / ${d.desired.port}`],
        [`local${v}`, `${d.desired.local} dev ${d.desired.underlay}`],
        [`MAC / MTU${v}`, `${d.desired.mac} / ${d.desired.mtu}`],
      )
    }
    record.push(['in sync', status.inSync ? 'yes' : `no: ${status.drift.length} operation(s) pending`, status.inSync ? paint.green : paint.yellow])
    this.log(renderRecord(record))
    if (status.peers.length > 0) this.log('')
    this.printTable(PEERS, status.peers, 'no peers: this is the only host with a lease')
    for (const op of status.drift) this.log(`drift: ${describeOperation(op)}`)
    for (const r of status.rejected) this.log(`ignored lease ${r.name}${r.family ? ` (IPv${r.family})` : ''}: ${r.reason}`)
    for (const s of status.sharedMacs) this.log(paint.yellow(`shared VTEP MAC ${s.mac} (IPv${s.family}): ${s.leases.join(', ')}: only one of them receives`))
    return status
  }
}
