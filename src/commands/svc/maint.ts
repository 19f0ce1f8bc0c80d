import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {maintenanceSentence} from '../../cli/human.js'
import {UsageError} from '../../lib/errors.js'
import {type MaintenanceResult, setMaintenance} from '../../svc/registry.js'
import {requireDnsLabel} from '../../svc/validate.js'

/** Consul's message when `consul maint -enable` is given no reason. */
export const DEFAULT_REASON = 'Maintenance mode is enabled for this instance, but no reason was provided.'

export default class SvcMaint extends BaseCommand<typeof SvcMaint> {
  static override summary = 'Put an instance into maintenance (it counts as critical: gone from DNS and resolve) or take it out'
  static override description =
    'As consul maint: recorded in the registration, so it survives prober restarts and re-registering, until --disable. The prober keeps running the check meanwhile, so the instance comes back with its real status.'
  static override examples = [
    '<%= config.bin %> svc maint web-1 --enable --reason "kernel upgrade"',
    '<%= config.bin %> svc maint web-1 --disable',
  ]

  static override args = {id: Args.string({description: 'instance id', required: true})}
  static override flags = {
    enable: Flags.boolean({description: 'put the instance into maintenance', exclusive: ['disable']}),
    disable: Flags.boolean({description: 'take the instance out of maintenance', exclusive: ['enable']}),
    reason: Flags.string({description: 'why (shown by svc list and svc show)'}),
    namespace: Flags.string({description: 'namespace', default: 'default'}),
  }

  async run(): Promise<MaintenanceResult> {
    const f = this.flags
    if (!f.enable && !f.disable) throw new UsageError('give --enable or --disable')
    if (f.disable && f.reason !== undefined) throw new UsageError('--reason: only with --enable')
    if (f.reason !== undefined && (f.reason.trim() === '' || f.reason.length > 1024)) throw new UsageError('--reason: give 1 to 1024 characters')
    const id = requireDnsLabel('id', this.args.id)
    const namespace = requireDnsLabel('namespace', f.namespace)
    const wanted = f.enable ? {reason: f.reason ?? DEFAULT_REASON, since: new Date().toISOString()} : null
    const result = await setMaintenance(await this.store(), this.keys, namespace, id, wanted)
    this.log(maintenanceSentence(result))
    return result
  }
}
