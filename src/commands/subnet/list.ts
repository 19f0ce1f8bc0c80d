import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {leaseExpiry} from '../../cli/human.js'
import {type Column, sortByAddress, statusColour} from '../../cli/output.js'
import {tableFlags} from '../../cli/table-flags.js'
import {type LeaseRow, leaseTable} from '../../net/subnet-listing.js'
import {someLeases} from '../../net/vxlan/peers.js'

/** The fourth column says leased, reserved or invalid; with --expiry, the time left instead of leased. */
const columns = (expiry: boolean): Column<LeaseRow>[] => [
  {header: 'SUBNET', value: (r) => r.subnet},
  {header: 'PUBLIC IP', value: (r) => r.publicIp},
  {header: 'VTEP MAC', value: (r) => r.vtepMac},
  {header: 'HOST', value: (r) => r.hostName, truncate: true},
  {header: expiry ? 'EXPIRES IN' : 'LEASE', value: leaseExpiry, colour: (text) => statusColour(text)},
  {header: 'PUBLIC IPV6', value: (r) => r.publicIpv6, wide: true},
  {header: 'KEY', value: (r) => r.key, wide: true},
]

export default class SubnetList extends BaseCommand<typeof SubnetList> {
  static override summary = 'List every subnet lease: subnet, public IP, VTEP MAC, host name; with --expiry, the time each has left'
  static override description =
    'Sorted by subnet. A key under the subnets prefix that does not parse is shown as invalid; it never breaks the listing. --wide adds the public IPv6 address and the etcd key. The time left is one etcd call per lease (etcd has none that answers for many), so it is read only with --expiry: several seconds more at 10,000 leases.'
  static override examples = [
    '<%= config.bin %> subnet list',
    '<%= config.bin %> subnet list --expiry',
    '<%= config.bin %> subnet list --wide --no-headers',
    '<%= config.bin %> subnet list --json | jq -r ".[].subnet"',
  ]
  static override flags = {
    ...tableFlags,
    expiry: Flags.boolean({description: "ask etcd each lease's time left: an EXPIRES IN column, and expiresInSeconds in --json (one etcd call per lease)"}),
  }

  async run(): Promise<LeaseRow[]> {
    const expiry = this.flags.expiry
    const table = await leaseTable(await this.store(), this.keys, {expiry})
    for (const s of table.sharedMacs) this.logger.warn('leases share one VTEP MAC: only one of them receives overlay traffic', {mac: s.mac, family: `IPv${s.family}`, leases: someLeases(s.leases)})
    const rows = sortByAddress(table.rows, (r) => r.subnet)
    this.printTable(columns(expiry), rows, 'no subnet leases')
    return rows
  }
}
