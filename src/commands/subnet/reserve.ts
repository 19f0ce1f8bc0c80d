import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {reserveSubnet} from '../../net/subnet-admin.js'

export default class SubnetReserve extends BaseCommand<typeof SubnetReserve> {
  static override summary = 'Pin a subnet to a public IP with no expiry'
  static override description = 'A reservation is a lease key with no etcd lease. Acquisition leaves it alone, and `subnet lease` on the host with that public IP takes it (and keeps it permanent).'
  static override examples = ['<%= config.bin %> subnet reserve 10.5.7.0/24 --public-ip 192.168.64.7']
  static override args = {subnet: Args.string({description: 'the subnet, e.g. 10.5.7.0/24', required: true})}
  static override flags = {'public-ip': Flags.string({description: 'the host the subnet is kept for', required: true})}

  async run(): Promise<{subnet: string; key: string; publicIp: string}> {
    const result = await reserveSubnet(await this.store(), this.keys, this.args.subnet, this.flags['public-ip'])
    this.log(`reserved ${result.subnet} for ${result.publicIp}`)
    return result
  }
}
