import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {statusColour, table} from '../../cli/output.js'
import {type InstanceRow, listInstances} from '../../svc/listing.js'
import {requireDnsLabel} from '../../svc/validate.js'

export default class SvcList extends BaseCommand<typeof SvcList> {
  static override summary = 'List service instances with their health and last check output'
  static override description = 'An instance with a check and no fresh result (never probed, or its prober is gone) is critical; one without a check is passing.'
  static override examples = [
    '<%= config.bin %> svc list',
    '<%= config.bin %> svc list web --namespace default --passing',
    '<%= config.bin %> svc list --json | jq -r \'.[] | select(.status == "critical") | .id\'',
  ]

  static override args = {name: Args.string({description: 'only this service'})}
  static override flags = {
    namespace: Flags.string({description: 'only this namespace (default: every namespace)'}),
    passing: Flags.boolean({description: 'only passing instances', default: false}),
  }

  async run(): Promise<InstanceRow[]> {
    const name = this.args.name === undefined ? undefined : requireDnsLabel('NAME', this.args.name)
    const namespace = this.flags.namespace === undefined ? undefined : requireDnsLabel('--namespace', this.flags.namespace)
    const rows = await listInstances(await this.store(), this.keys, {namespace, name, passingOnly: this.flags.passing})
    this.log(
      table(
        ['namespace', 'name', 'id', 'address', 'node', 'check', 'status', 'output'],
        rows.map((r) => [r.namespace, r.name, r.id, `${r.address.includes(':') ? `[${r.address}]` : r.address}:${r.port}`, r.node, r.check ?? '', statusColour(r.status), oneLine(r.output)]),
      ),
    )
    return rows
  }
}

/** The table shows the start of the output on one line; --json has all of it. */
function oneLine(text: string, max = 60): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > max ? flat.slice(0, max - 3) + '...' : flat
}
