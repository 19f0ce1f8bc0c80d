import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {renderLabReport} from '../../cli/lab-output.js'
import {tableFlags} from '../../cli/table-flags.js'
import {CnetError, ExitCode} from '../../lib/errors.js'
import {DEFAULT_LAB_DIR} from '../../lab/state.js'
import {labStatus} from '../../lab/status.js'
import type {LabReport} from '../../lab/up.js'

export default class LabStatus extends BaseCommand<typeof LabStatus> {
  static override summary = 'Show the lab and run its proofs again'
  static override description =
    "Supervises too: any of the lab's processes found dead is started again as it was first started (its log continues), then the proofs run against the lab, tried again for up to 3 s (20 s after a restart) until they pass. Exits 1 when a proof still fails, 3 when the lab's namespaces are gone."
  static override examples = ['<%= config.bin %> lab status', '<%= config.bin %> lab status --json | jq .proved']
  static override flags = {
    'state-dir': Flags.string({description: 'the lab state directory', default: DEFAULT_LAB_DIR, env: 'CNET_LAB_DIR'}),
    ...tableFlags,
  }

  async run(): Promise<LabReport> {
    const report = await labStatus(this.flags['state-dir'])
    this.log(renderLabReport(report, {wide: this.flags.wide, headers: !this.flags['no-headers']}))
    if (!report.proved) throw new CnetError('lab: a proof failed (see the table)', ExitCode.failure)
    return report
  }
}
