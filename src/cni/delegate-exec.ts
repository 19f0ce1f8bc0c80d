import {accessSync, constants, statSync} from 'node:fs'
import {join} from 'node:path'
import {runCommand} from '../lib/run-command.js'
import {CniCode, CniError} from './spec.js'

/**
 * Finds a plugin in CNI_PATH and runs it the way a runtime would: same CNI_* environment,
 * the config on stdin, its result or error document back from stdout.
 */
export interface DelegateOutcome {
  /** The plugin's stdout: a result, an error document, or nothing (DEL). */
  stdout: string
  stderr: string
  exitCode: number
}

export type DelegateRunner = (plugin: string, config: string, env: Record<string, string>) => Promise<DelegateOutcome>

/** Long enough for a busy host, short enough that the runtime hears "try again" before it gives up. */
export const DELEGATE_TIMEOUT_MS = 120_000

export function findPlugin(type: string, path: string[]): string {
  if (path.length === 0) throw new CniError(CniCode.invalidEnv, `CNI_PATH is not set (the runtime must set it so cnet can find the ${type} plugin)`)
  for (const dir of path) {
    const candidate = join(dir, type)
    try {
      if (!statSync(candidate).isFile()) continue
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not in this directory
    }
  }
  throw new CniError(
    CniCode.delegateMissing,
    `the ${type} plugin is not in CNI_PATH (install the reference plugins, e.g. apt-get install containernetworking-plugins, and add their directory to CNI_PATH)`,
    `searched: ${path.join(':')}`,
  )
}

/** A delegate runner with its own deadline, for tests; the plugin uses `runDelegate`. */
export function delegateRunner(timeoutMs: number): DelegateRunner {
  return async (plugin, config, env) => {
    // Only the runtime's environment: a delegate must see what it would see if run directly.
    const result = await runCommand(plugin, [], {input: config, env, extendEnv: false, timeoutMs, allowFailure: true, component: 'cni'})
    if (result.timedOut) throw new CniError(CniCode.tryAgainLater, `${plugin} did not answer within ${timeoutMs / 1000} s (try again later)`)
    if (result.exitCode === undefined) {
      throw new CniError(CniCode.delegateFailed, `${plugin} could not be run`, result.startError ?? `ended by ${result.signal ?? 'a signal'}`)
    }
    return {stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode}
  }
}

export const runDelegate: DelegateRunner = delegateRunner(DELEGATE_TIMEOUT_MS)
