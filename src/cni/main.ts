import {LOG_LEVELS, type LogFormat, type LogLevel, type Logger, createLogger} from '../lib/log.js'
import {runDelegate} from './delegate-exec.js'
import {cleanupMasq} from './masq-exec.js'
import {type PluginOutput, runPlugin} from './plugin.js'
import {CniCode, CniError, errorDocument} from './spec.js'
import {readStdin} from './stdin.js'

/**
 * The plugin as a process, shared by bin/cnet-cni.cjs (what `cnet cni install`'s shim
 * runs: no oclif, no etcd client, so a container start pays little more than Node's own
 * start) and the `cnet cni` command. Logs go to stderr, which runtimes keep apart from
 * the result on stdout.
 */
const LOG_FORMATS: readonly string[] = ['text', 'json']

/** The logger CNET_LOG_LEVEL and CNET_LOG_FORMAT ask for; a wrong value is the runtime's env, told as code 4. */
export function loggerFromEnv(env: Record<string, string | undefined>): Logger {
  const level = env.CNET_LOG_LEVEL || 'info'
  const format = env.CNET_LOG_FORMAT || 'text'
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new CniError(CniCode.invalidEnv, `CNET_LOG_LEVEL "${level}" is not one of ${LOG_LEVELS.join(', ')}`)
  if (!LOG_FORMATS.includes(format)) throw new CniError(CniCode.invalidEnv, `CNET_LOG_FORMAT "${format}" is not one of ${LOG_FORMATS.join(', ')}`)
  return createLogger({level: level as LogLevel, format: format as LogFormat, component: 'cni'})
}

/** One invocation with the real delegate runner and masquerade cleanup. */
export async function runCni(env: Record<string, string | undefined>, stdin: string, log?: Logger): Promise<PluginOutput> {
  let logger: Logger
  try {
    logger = log ?? loggerFromEnv(env)
  } catch (error) {
    return {stdout: JSON.stringify(errorDocument(error as CniError)) + '\n', exitCode: 1}
  }
  return runPlugin(env, stdin, {runDelegate, cleanupMasq, log: logger})
}

/** The whole process: stdin in, the document on stdout, the exit code set (not forced, so stdout drains). */
export async function main(): Promise<void> {
  let output: PluginOutput
  try {
    output = await runCni(process.env, await readStdin())
  } catch (error) {
    // runPlugin answers every failure itself; this is stdin that could not be read.
    output = {stdout: JSON.stringify(errorDocument(new CniError(CniCode.ioFailure, 'cannot read the network config from stdin', (error as Error).message))) + '\n', exitCode: 1}
  }
  process.stdout.write(output.stdout)
  process.exitCode = output.exitCode
}
