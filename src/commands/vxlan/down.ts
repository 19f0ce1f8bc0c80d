import {BaseCommand} from '../../cli/base-command.js'
import {vxlanDownSentence} from '../../cli/human.js'
import {readNetworkConfig} from '../../net/network-store.js'
import {IpKernel} from '../../net/vxlan/ip-kernel.js'
import {type DownResult, type DownTarget, downTargetOf, overlayDown} from '../../net/vxlan/down.js'
import {deviceFlag, deviceV6Flag} from '../../cli/vxlan-flags.js'
import {requireNetAdmin} from '../../net/vxlan/privileges.js'

export default class VxlanDown extends BaseCommand<typeof VxlanDown> {
  static override summary = "Remove the overlay: VXLAN devices, their routes, host-gw routes and cnet's iptables chains"
  static override description =
    'Idempotent: what is already gone is skipped. With --device (and --device-v6), etcd is not needed (direct-routing and host-gw routes are then left alone, as the cluster network is unknown). Also known as `cnet overlay down`.'
  static override examples = ['<%= config.bin %> vxlan down', '<%= config.bin %> vxlan down --device cnet.1']
  static override aliases = ['overlay:down']

  static override flags = {device: deviceFlag, 'device-v6': deviceV6Flag}

  async run(): Promise<DownResult> {
    requireNetAdmin('vxlan down')
    const {device, 'device-v6': deviceV6} = this.flags
    const target: DownTarget =
      device || deviceV6
        ? {devices: [device, deviceV6].filter((d): d is string => d !== undefined), networks: [], families: [...(device ? [4 as const] : []), ...(deviceV6 ? [6 as const] : [])]}
        : downTargetOf(await readNetworkConfig(await this.store(), this.keys))
    const result = await overlayDown(new IpKernel(), target)
    this.log(vxlanDownSentence(result))
    return result
  }
}
