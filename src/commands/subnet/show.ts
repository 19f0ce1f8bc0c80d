import * as Args from '@oclif/core/args'
import {BaseCommand} from '../../cli/base-command.js'
import {leaseRecord} from '../../cli/human.js'
import {renderRecord} from '../../cli/output.js'
import {showLease} from '../../net/subnet-admin.js'
import type {LeaseRow} from '../../net/subnet-listing.js'

export default class SubnetShow extends BaseCommand<typeof SubnetShow> {
  static override summary = 'Show one lease'
  static override examples = ['<%= config.bin %> subnet show 10.5.52.0/24 --json']
  static override args = {subnet: Args.string({description: 'the subnet, e.g. 10.5.52.0/24 (dual stack: either subnet of the lease)', required: true})}

  async run(): Promise<LeaseRow> {
    const row = await showLease(await this.store(), this.keys, this.args.subnet)
    this.log(renderRecord(leaseRecord(row)))
    return row
  }
}
