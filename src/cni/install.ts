import {chmodSync, existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {writeFileAtomic} from '../lib/atomic-file.js'
import {ConflictError} from '../lib/errors.js'
import {COMPANION_PLUGINS, type InstallOptions, SHIM_MARKER, planInstall} from './install-plan.js'

/** Writes the conflist and the shim when they differ from what is there; a second run writes nothing. */
export interface InstallResult {
  confFile: string
  pluginFile: string
  /** Files written by this run (empty when everything was already in place). */
  written: string[]
  /** Plugins the conflist needs that are not in the bin dir. */
  missingPlugins: string[]
}

/** This CLI's entry point, two levels up from src/cni (or dist/cni). */
const CLI_ENTRY = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export function installCni(options: InstallOptions & {force: boolean}): InstallResult {
  const plan = planInstall(options, {node: process.execPath, cli: CLI_ENTRY})
  const current = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : undefined)
  const shimNow = current(plan.shimFile)
  // Checked before anything is written: never replace someone else's `cnet` silently.
  if (shimNow !== undefined && !shimNow.includes(SHIM_MARKER) && !options.force) {
    throw new ConflictError(`cni install: ${plan.shimFile} exists and was not written by cnet cni install`, 'remove it, or pass --force to replace it')
  }
  const written: string[] = []
  if (shimNow !== plan.shim) {
    writeFileAtomic(plan.shimFile, plan.shim, 0o755)
    written.push(plan.shimFile)
  }
  // The umask may have narrowed the mode; the runtime must be able to execute it.
  chmodSync(plan.shimFile, 0o755)
  if (current(plan.confFile) !== plan.conflist) {
    writeFileAtomic(plan.confFile, plan.conflist)
    written.push(plan.confFile)
  }
  const missingPlugins = COMPANION_PLUGINS.filter((plugin) => !existsSync(join(options.binDir, plugin)))
  return {confFile: plan.confFile, pluginFile: plan.shimFile, written, missingPlugins}
}
