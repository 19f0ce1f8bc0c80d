import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {keyValues} from '../../cli/output.js'
import {type DeregisterResult, deregisterInstance} from '../../svc/registry.js'
import {requireDnsLabel} from '../../svc/validate.js'

export default class SvcDeregister extends BaseCommand<typeof SvcDeregister> {
  static override summary = 'Remove one instance and its health record'
  static override examples = ['<%= config.bin %> svc deregister web-1', '<%= config.bin %> svc deregister db-1 --namespace prod --json']

  static override args = {id: Args.string({description: 'instance id', required: true})}
  static override flags = {namespace: Flags.string({description: 'namespace', default: 'default'})}

  async run(): Promise<DeregisterResult> {
    const id = requireDnsLabel('ID', this.args.id)
    const namespace = requireDnsLabel('--namespace', this.flags.namespace)
    const result = await deregisterInstance(await this.store(), this.keys, namespace, id)
    this.log(keyValues(Object.entries(result)))
    return result
  }
}
