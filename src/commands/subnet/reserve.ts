import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {reservedSentence} from '../../cli/human.js'
import {type ReserveResult, reserveSubnet} from '../../net/subnet-admin.js'

export default class SubnetReserve extends BaseCommand<typeof SubnetReserve> {
  static override summary = 'Pin a subnet to a public IP with no expiry'
  static override description =
    'A reservation is a lease key with no etcd lease. Acquisition leaves it alone, and `subnet lease` on the host with that public IP takes it (and keeps it permanent). Under a dual-stack config the key holds an IPv6 subnet too: --ipv6-subnet, else the one the host already holds with that subnet, else the first free one.'
  static override examples = [
    '<%= config.bin %> subnet reserve 10.5.7.0/24 --public-ip 192.168.64.7',
    '<%= config.bin %> subnet reserve 10.5.7.0/24 --public-ip 192.168.64.7 --ipv6-subnet fd00:42:0:7::/64 --public-ipv6 2001:db8::7   # dual stack',
  ]
  static override args = {subnet: Args.string({description: 'the (IPv4) subnet, e.g. 10.5.7.0/24', required: true})}
  static override flags = {
    'public-ip': Flags.string({description: 'the host the subnet is kept for', required: true}),
    'ipv6-subnet': Flags.string({description: 'dual stack: the IPv6 subnet to pin with it (default: the one the host holds, else the first free one)'}),
    'public-ipv6': Flags.string({description: "dual stack: the host's IPv6 underlay address, PublicIPv6 (default: the one its lease has, else none)"}),
  }

  async run(): Promise<ReserveResult> {
    const result = await reserveSubnet(await this.store(), this.keys, this.args.subnet, {
      publicIp: this.flags['public-ip'],
      ipv6Subnet: this.flags['ipv6-subnet'],
      publicIpv6: this.flags['public-ipv6'],
    })
    this.log(reservedSentence(result))
    return result
  }
}
