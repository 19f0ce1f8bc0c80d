import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {instanceDetails} from '../../cli/svc-output.js'
import {type InstanceDetails, showInstance} from '../../svc/show.js'
import {requireDnsLabel} from '../../svc/validate.js'

export default class SvcShow extends BaseCommand<typeof SvcShow> {
  static override summary = 'Show one instance: its registration, health, check and last check output'
  static override examples = ['<%= config.bin %> svc show web-1', '<%= config.bin %> svc show db-1 --namespace prod --json | jq .checkDefinition']

  static override args = {id: Args.string({description: 'instance id', required: true})}
  static override flags = {namespace: Flags.string({description: 'namespace', default: 'default'})}

  async run(): Promise<InstanceDetails> {
    const id = requireDnsLabel('id', this.args.id)
    const namespace = requireDnsLabel('namespace', this.flags.namespace)
    const details = await showInstance(await this.store(), this.keys, namespace, id)
    this.log(instanceDetails(details, details.checkDefinition))
    return details
  }
}
