import type {HealthStatus} from '../../svc/model.js'
import {TtlCommand} from '../../cli/ttl-command.js'

export default class HealthFail extends TtlCommand {
  static override summary = 'Mark a TTL check critical until its TTL runs out'
  static override description = 'The record is written under an etcd lease of the check TTL: when updates stop, it expires and the instance counts as critical.'
  static override examples = ['<%= config.bin %> health fail batch-1', '<%= config.bin %> health fail batch-1 --namespace jobs --note "run 42 done"']
  protected readonly status: HealthStatus = 'critical'
}
