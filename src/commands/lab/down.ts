import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {type LabDownReport, labDown} from '../../lab/down.js'
import {DEFAULT_LAB_NAMES} from '../../lab/layout.js'
import {DEFAULT_LAB_DIR} from '../../lab/state.js'
import {requireRoot} from '../../lab/up.js'

export default class LabDown extends BaseCommand<typeof LabDown> {
  static override summary = 'Stop everything the lab started and remove every namespace, interface and file it made'
  static override description = "Idempotent, and safe after a crash of `lab up`: it goes by the PID files in the state directory and the lab's own name prefix (saved in its state; --prefix when the state is gone), so another lab is never touched."
  static override examples = ['<%= config.bin %> lab down']
  static override flags = {
    'state-dir': Flags.string({description: 'the lab state directory', default: DEFAULT_LAB_DIR, env: 'CNET_LAB_DIR'}),
    prefix: Flags.string({description: "the lab's name prefix, used only when its state directory is gone", default: DEFAULT_LAB_NAMES.prefix, env: 'CNET_LAB_PREFIX'}),
  }

  async run(): Promise<LabDownReport> {
    requireRoot()
    const report = await labDown(this.flags['state-dir'], this.flags.prefix)
    this.log(`lab down: stopped ${report.stoppedDaemons} processes, removed ${report.removedNamespaces.length} namespaces and ${report.removedLinks.length} links`)
    return report
  }
}
