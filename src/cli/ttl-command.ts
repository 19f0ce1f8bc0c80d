import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import type {HealthStatus} from '../svc/model.js'
import {type TtlUpdateResult, updateTtlCheck} from '../svc/ttl-update.js'
import {requireDnsLabel} from '../svc/validate.js'
import {BaseCommand} from './base-command.js'
import {ttlUpdatedSentence} from './human.js'

/** `cnet health pass|warn|fail ID`: the three differ only in the status they write. */
export abstract class TtlCommand extends BaseCommand<typeof TtlCommand> {
  static override args = {id: Args.string({description: 'instance id (its check must be a TTL check)', required: true})}
  static override flags = {
    namespace: Flags.string({description: 'namespace', default: 'default'}),
    note: Flags.string({description: 'output to record with the status (at most 4 KB are kept)'}),
  }

  protected abstract readonly status: HealthStatus

  async run(): Promise<TtlUpdateResult> {
    const id = requireDnsLabel('id', this.args.id)
    const namespace = requireDnsLabel('namespace', this.flags.namespace)
    const result = await updateTtlCheck(await this.store(), this.keys, {namespace, id, status: this.status, note: this.flags.note, now: new Date()})
    this.log(ttlUpdatedSentence(result))
    return result
  }
}
