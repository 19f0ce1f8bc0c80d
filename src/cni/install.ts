import {accessSync, chmodSync, constants, existsSync, readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {writeFileAtomic} from '../lib/atomic-file.js'
import {ConflictError} from '../lib/errors.js'
import {type InstallOptions, RUNTIME_PLUGIN_DIRS, SHIM_MARKER, missingCompanions, planInstall} from './install-plan.js'

/**
 * Writes the conflist and the shim when they differ from what is there: a second run
 * writes nothing, and a run after `podman network rm` (which deletes the conflist) puts
 * the conflist back.
 */
export interface InstallResult {
  confFile: string
  pluginFile: string
  /** Files written by this run (empty when everything was already in place). */
  written: string[]
  /** Plugins the conflist needs that none of the searched directories holds. */
  missingPlugins: string[]
  /** Where the plugins were looked for: the bin dir, then the runtimes' usual ones. */
  searchedDirs: string[]
}

/** The plugin's own entry, two levels up from src/cni (or dist/cni). */
const PLUGIN_ENTRY = fileURLToPath(new URL('../../bin/cnet-cni.cjs', import.meta.url))

const isExecutable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

export function installCni(
  options: InstallOptions & {force: boolean},
  environment: {pluginDirs?: readonly string[]; plugin?: string} = {},
): InstallResult {
  const plan = planInstall(options, {node: process.execPath, plugin: environment.plugin ?? PLUGIN_ENTRY})
  const current = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : undefined)
  const shimNow = current(plan.shimFile)
  // Checked before anything is written: never replace someone else's `cnet` silently.
  if (shimNow !== undefined && !shimNow.includes(SHIM_MARKER) && !options.force) {
    throw new ConflictError(`cni install: ${plan.shimFile} exists and was not written by cnet cni install`, 'remove it, or replace it only by force', 'force')
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
  const searchedDirs = [...new Set([options.binDir, ...(environment.pluginDirs ?? RUNTIME_PLUGIN_DIRS)])]
  return {confFile: plan.confFile, pluginFile: plan.shimFile, written, missingPlugins: missingCompanions(searchedDirs, isExecutable), searchedDirs}
}
