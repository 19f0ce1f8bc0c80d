import {BaseCommand} from '../../cli/base-command.js'
import {keyValues, paint, table} from '../../cli/output.js'
import {KernelRunner} from '../../net/vxlan/apply.js'
import {describeOperation} from '../../net/vxlan/describe.js'
import {deviceFlag, ifaceFlag, subnetFileFlag} from '../../cli/vxlan-flags.js'
import {type StatusResult, vxlanStatus} from '../../net/vxlan/status.js'

export default class VxlanStatus extends BaseCommand<typeof VxlanStatus> {
  static override summary = 'Show the VXLAN device, its peers, and any drift between etcd and the kernel'
  static override examples = ['<%= config.bin %> vxlan status', '<%= config.bin %> vxlan status --json | jq .inSync']

  static override flags = {iface: ifaceFlag, 'subnet-file': subnetFileFlag, device: deviceFlag}

  async run(): Promise<StatusResult> {
    const f = this.flags
    const ctx = {store: await this.store(), keys: this.keys, logger: this.logger.child('vxlan'), runner: new KernelRunner()}
    const status = await vxlanStatus(ctx, {subnetFile: f['subnet-file'], iface: f.iface, deviceName: f.device, ipMasq: false})
    const d = status.device
    this.log(keyValues([
      ['device', d.name],
      ['state', d.exists ? (d.up ? 'up' : 'down') : 'missing'],
      ['subnet', status.subnet],
      ['address', status.address],
      ['VNI / port', `${d.desired.vni} / ${d.desired.port}`],
      ['local', `${d.desired.local} dev ${d.desired.underlay}`],
      ['MAC / MTU', `${d.desired.mac} / ${d.desired.mtu}`],
      ['in sync', status.inSync ? paint.green('yes') : paint.yellow(`no: ${status.drift.length} operation(s) pending`)],
    ]))
    if (status.peers.length) this.log(table(['subnet', 'public IP', 'VTEP MAC', 'host', 'state'], status.peers.map((p) => [p.subnet, p.publicIp, p.vtepMac, p.hostName ?? '', p.state])))
    for (const op of status.drift) this.log(`drift: ${describeOperation(op)}`)
    for (const r of status.rejected) this.log(`ignored lease ${r.name}: ${r.reason}`)
    return status
  }
}
