import {BaseCommand} from '../../cli/base-command.js'
import {statusColour, table} from '../../cli/output.js'
import {formatDuration} from '../../lib/duration.js'
import {type LeaseRow, leaseRows} from '../../net/subnet-listing.js'

export default class SubnetList extends BaseCommand<typeof SubnetList> {
  static override summary = 'List every subnet lease: subnet, public IP, VTEP MAC, host name, expiry'
  static override description = 'A key under the subnets prefix that does not parse is shown as invalid; it never breaks the listing.'
  static override examples = ['<%= config.bin %> subnet list', '<%= config.bin %> subnet list --json | jq -r ".[].subnet"']

  async run(): Promise<LeaseRow[]> {
    const rows = await leaseRows(await this.store(), this.keys)
    // Laying out a table costs time that grows faster than the rows: not for --json.
    if (!this.jsonEnabled()) this.log(
      table(
        ['subnet', 'public IP', 'VTEP MAC', 'host', 'expires in', 'valid'],
        rows.map((r) => [
          r.subnet,
          r.publicIp ?? '',
          r.vtepMac ?? '',
          r.hostName ?? '',
          !r.valid ? '' : r.reserved ? 'reserved' : formatDuration((r.expiresInSeconds ?? 0) * 1000),
          r.valid ? 'yes' : statusColour('invalid'),
        ]),
      ),
    )
    return rows
  }
}
