import {runCommand} from '../lib/run-command.js'
import {planMasqCleanup} from './masq-cleanup.js'

/** Reads the nat table of the current namespace and removes one container's leftover masquerade rules, in one transaction. */
export async function cleanupMasq(network: string, containerId: string, run: typeof runCommand = runCommand): Promise<void> {
  const saved = await run('iptables-save', ['-t', 'nat'], {allowFailure: true, component: 'cni'})
  // No iptables here means the bridge could not have added rules either.
  if (saved.exitCode !== 0) return
  const restore = planMasqCleanup(saved.stdout, network, containerId)
  if (restore) await run('iptables-restore', ['--noflush'], {input: restore, component: 'cni'})
}
