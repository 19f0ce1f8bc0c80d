import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {releasedSentence} from '../../cli/human.js'
import {localAddresses, resolveHostAddress} from '../../net/host-address.js'
import {type Ownership, releaseLease, subnetFromFile} from '../../net/subnet-admin.js'
import {DEFAULT_SUBNET_FILE} from '../../net/subnet-env.js'
import {keptVtepMacs} from '../../net/vtep-mac.js'

export default class SubnetRelease extends BaseCommand<typeof SubnetRelease> {
  static override summary = "Free a lease (default: this host's, from --subnet-file)"
  static override description =
    "The lease is this host's when its VTEP MAC is the one kept beside --subnet-file, or an interface here holds its public IP (or it is --public-ip); releasing another host's lease needs --force. Under a dual-stack config either subnet of the lease names it."
  static override examples = ['<%= config.bin %> subnet release', '<%= config.bin %> subnet release --subnet-file /run/cnet/subnet.env', '<%= config.bin %> subnet release 10.5.52.0/24 --force']
  static override args = {subnet: Args.string({description: 'the subnet, e.g. 10.5.52.0/24 (dual stack: either subnet of the lease)'})}
  static override flags = {
    'subnet-file': Flags.string({description: "this host's subnet.env", default: DEFAULT_SUBNET_FILE, env: 'CNET_SUBNET_FILE'}),
    'public-ip': Flags.string({description: "this host's public IP, if no interface here holds it (NAT)"}),
    iface: Flags.string({description: 'take the public IP from this interface'}),
    force: Flags.boolean({description: "release another host's lease", default: false}),
  }

  async run(): Promise<{subnet: string; key: string | null; released: boolean}> {
    const f = this.flags
    const subnet = this.args.subnet ?? subnetFromFile(f['subnet-file'])
    const named = f['public-ip'] !== undefined || f.iface !== undefined
    const owner: Ownership | 'force' = f.force
      ? 'force'
      : {vtepMacs: keptVtepMacs(f['subnet-file']), publicIp: named ? (await resolveHostAddress({publicIp: f['public-ip'], iface: f.iface})).publicIp : undefined, localAddresses: () => localAddresses()}
    const result = await releaseLease(await this.store(), this.keys, subnet, owner)
    this.log(releasedSentence(result))
    return result
  }
}
