import {BaseCommand} from '../../cli/base-command.js'
import {vxlanDownSentence} from '../../cli/human.js'
import {parseCidr} from '../../net/ip.js'
import {readNetworkConfig} from '../../net/network-store.js'
import {KernelRunner} from '../../net/vxlan/apply.js'
import {defaultDeviceName} from '../../net/vxlan/desired.js'
import {type DownResult, vxlanDown} from '../../net/vxlan/down.js'
import {deviceFlag} from '../../cli/vxlan-flags.js'
import {requireNetAdmin} from '../../net/vxlan/privileges.js'

export default class VxlanDown extends BaseCommand<typeof VxlanDown> {
  static override summary = "Remove the VXLAN device, its routes and cnet's iptables chains"
  static override description = 'Idempotent: what is already gone is skipped. With --device, etcd is not needed (direct-routing routes are then left alone, as the cluster network is unknown).'
  static override examples = ['<%= config.bin %> vxlan down', '<%= config.bin %> vxlan down --device cnet.1']

  static override flags = {device: deviceFlag}

  async run(): Promise<DownResult> {
    requireNetAdmin('vxlan down')
    let device = this.flags.device
    let network
    if (!device) {
      const config = await readNetworkConfig(await this.store(), this.keys)
      device = defaultDeviceName(config.Backend.VNI)
      network = config.Network ? parseCidr(config.Network) : undefined
    }
    const result = await vxlanDown(new KernelRunner(), device, network)
    this.log(vxlanDownSentence(device, result))
    return result
  }
}
