import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {hostname} from 'node:os'
import {BaseCommand} from '../../cli/base-command.js'
import {readDefinitionFile} from '../../cli/definition-input.js'
import {deregisteredSentence} from '../../cli/human.js'
import {DEREGISTER_RESULT_COLUMNS} from '../../cli/svc-output.js'
import {UsageError} from '../../lib/errors.js'
import {parseDefinitions, planDefinitions} from '../../svc/definition-file.js'
import {type DeregisterResult, deregisterDefined, deregisterInstance} from '../../svc/registry.js'
import {requireDnsLabel} from '../../svc/validate.js'

export default class SvcDeregister extends BaseCommand<typeof SvcDeregister> {
  static override summary = 'Remove one instance (its registration, index entry and health record), or every instance a definition file defines'
  static override description = 'With --file, an instance of the file that is not registered is reported absent, not an error, so running it twice is harmless.'
  static override examples = [
    '<%= config.bin %> svc deregister web-1',
    '<%= config.bin %> svc deregister db-1 --namespace prod --json',
    '<%= config.bin %> svc deregister --file /etc/cnet/services.json',
  ]

  static override args = {id: Args.string({description: 'instance id; not with --file', ignoreStdin: true})}
  static override flags = {
    namespace: Flags.string({description: 'namespace (with --file, for instances that name none)', default: 'default'}),
    file: Flags.string({description: 'a service definition file (as svc register --file reads it), - for stdin'}),
  }

  async run(): Promise<DeregisterResult | DeregisterResult[]> {
    const namespace = requireDnsLabel('namespace', this.flags.namespace)
    if (this.flags.file !== undefined) {
      if (this.args.id !== undefined) throw new UsageError('ID: not with --file', 'the file names its instances')
      const {definitions} = parseDefinitions(readDefinitionFile(this.flags.file), {namespace, node: hostname()})
      const plans = planDefinitions(definitions, new Date())
      const results = await deregisterDefined(await this.store(), this.keys, plans.map((p) => p.registration))
      this.printTable(DEREGISTER_RESULT_COLUMNS, results, 'the file defines no instances')
      return results
    }
    if (this.args.id === undefined) throw new UsageError('ID: required (or give --file)')
    const id = requireDnsLabel('id', this.args.id)
    const result = await deregisterInstance(await this.store(), this.keys, namespace, id)
    this.log(deregisteredSentence(result))
    return result
  }
}
