import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {releasedSentence} from '../../cli/human.js'
import {resolveHostAddress} from '../../net/host-address.js'
import {releaseLease, subnetFromFile} from '../../net/subnet-admin.js'
import {DEFAULT_SUBNET_FILE} from '../../net/subnet-env.js'

export default class SubnetRelease extends BaseCommand<typeof SubnetRelease> {
  static override summary = "Free a lease (default: this host's, from --subnet-file)"
  static override description =
    "Releasing another host's lease (a different PublicIP) needs --force. Under a dual-stack config either subnet of the lease names it."
  static override examples = ['<%= config.bin %> subnet release', '<%= config.bin %> subnet release 10.5.52.0/24 --force']
  static override args = {subnet: Args.string({description: 'the subnet, e.g. 10.5.52.0/24 (dual stack: either subnet of the lease)'})}
  static override flags = {
    'subnet-file': Flags.string({description: "this host's subnet.env", default: DEFAULT_SUBNET_FILE, env: 'CNET_SUBNET_FILE'}),
    'public-ip': Flags.string({description: "this host's public IP (default: from --iface or the default route)"}),
    iface: Flags.string({description: 'take the public IP from this interface'}),
    force: Flags.boolean({description: "release another host's lease", default: false}),
  }

  async run(): Promise<{subnet: string; key: string | null; released: boolean}> {
    const subnet = this.args.subnet ?? subnetFromFile(this.flags['subnet-file'])
    const ours = this.flags.force ? undefined : (await resolveHostAddress({publicIp: this.flags['public-ip'], iface: this.flags.iface})).publicIp
    const result = await releaseLease(await this.store(), this.keys, subnet, ours, this.flags.force)
    this.log(releasedSentence(result))
    return result
  }
}
