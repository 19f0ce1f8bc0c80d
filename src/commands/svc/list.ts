import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {INSTANCE_COLUMNS, sortServiceRows} from '../../cli/svc-output.js'
import {tableFlags} from '../../cli/table-flags.js'
import {InvalidValueError} from '../../lib/errors.js'
import {type InstanceRow, STATUS_FILTERS, type StatusFilter, forEachService} from '../../svc/listing.js'
import {requireNodeName} from '../../svc/registration-plan.js'
import {requireDnsLabel, requireTags} from '../../svc/validate.js'

export default class SvcList extends BaseCommand<typeof SvcList> {
  static override summary = 'List service instances with their health and last check output'
  static override description =
    'An instance with a check and no fresh result (never probed, or its prober is gone) is critical; one without a check is passing; one in maintenance (svc maint) is critical and shown as maintenance. --tag (repeatable) keeps instances carrying every tag given; --status maintenance those in maintenance. Sorted by namespace, name and address; --wide adds the port name, protocol, weight, node and tags.'
  static override examples = [
    '<%= config.bin %> svc list',
    '<%= config.bin %> svc list web --namespace default --passing --wide',
    '<%= config.bin %> svc list --tag canary --node web-host-1 --status critical',
    '<%= config.bin %> svc list --json | jq -r \'.[] | select(.status == "critical") | .id\'',
  ]

  static override args = {name: Args.string({description: 'only this service'})}
  static override flags = {
    namespace: Flags.string({description: 'only this namespace (default: every namespace)'}),
    passing: Flags.boolean({description: 'only passing instances', default: false}),
    tag: Flags.string({description: 'only instances with this tag (repeatable: every tag given)', multiple: true}),
    node: Flags.string({description: 'only instances whose checks this node runs'}),
    status: Flags.string({description: `only instances with this status: ${STATUS_FILTERS.join(', ')}`}),
    ...tableFlags,
  }

  static override fieldNames = {tags: '--tag'}

  async run(): Promise<InstanceRow[]> {
    const f = this.flags
    const name = this.args.name === undefined ? undefined : requireDnsLabel('name', this.args.name)
    const namespace = f.namespace === undefined ? undefined : requireDnsLabel('namespace', f.namespace)
    const node = f.node === undefined ? undefined : requireNodeName(f.node)
    if (f.status !== undefined && !STATUS_FILTERS.includes(f.status as StatusFilter)) throw new InvalidValueError('status', `"${f.status}" is not a status`, `use ${STATUS_FILTERS.join(', ')}`)
    const tags = f.tag === undefined ? undefined : requireTags('tags', f.tag)
    const filter = {namespace, name, passingOnly: f.passing, tags, node, status: f.status as StatusFilter | undefined}
    const store = await this.store()
    if (this.jsonEnabled()) {
      // Each service written as the listing hands it on: 100,000 rows are never all held.
      const out = this.jsonArrayWriter()
      await forEachService(store, this.keys, filter, (rows) => out.add(sortServiceRows(rows)))
      out.end()
      return []
    }
    // A table is laid out once every row is in: a listing that starts over drops what it held.
    const rows: InstanceRow[] = []
    const hold = (service: InstanceRow[]) => {
      for (const row of sortServiceRows(service)) rows.push(row)
    }
    await forEachService(store, this.keys, filter, hold, () => (rows.length = 0))
    this.printTable(INSTANCE_COLUMNS, rows, 'no service instances')
    return rows
  }
}
