import {existsSync, readFileSync} from 'node:fs'
import type {Logger} from '../lib/log.js'
import {type SubnetEnv, parseSubnetEnv} from '../net/subnet-env.js'
import {renderDelegate, replayDelegate} from './delegate-config.js'
import {type DelegateOutcome, type DelegateRunner, findPlugin} from './delegate-exec.js'
import {type CniInvocation, parseInvocation} from './env.js'
import {type CnetNetConf, type JsonObject, parseNetConf, peekVersion} from './netconf.js'
import {forgetDelegate, loadDelegate, saveDelegate} from './saved-config.js'
import {CniCode, CniError, errorDocument, versionAllowsCheck, versionDocument} from './spec.js'

/**
 * The CNI plugin: one invocation in (environment and stdin), one document out (stdout
 * and an exit code). Everything it prints goes through here, so nothing else reaches
 * the runtime's stdout.
 */
export interface PluginDeps {
  runDelegate: DelegateRunner
  /** Removes a container's leftover masquerade rules after a DEL whose namespace was gone (see masq-cleanup.ts). */
  cleanupMasq?: (network: string, containerId: string) => Promise<void>
  log: Logger
}

export interface PluginOutput {
  stdout: string
  exitCode: number
}

export async function runPlugin(env: Record<string, string | undefined>, stdin: string, deps: PluginDeps): Promise<PluginOutput> {
  try {
    const invocation = parseInvocation(env)
    if (invocation.command === 'VERSION') return document(versionDocument())
    const conf = parseNetConf(stdin)
    deps.log.debug(`${invocation.command} ${invocation.containerId}`, {ifName: invocation.ifName, netns: invocation.netns, network: conf.name})
    const delegateEnv = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined))
    const step = {ADD: add, CHECK: check, DEL: del}[invocation.command]
    return await step(invocation, conf, (plugin, config) => deps.runDelegate(plugin, JSON.stringify(config), delegateEnv), deps)
  } catch (error) {
    const cniError = error instanceof CniError ? error : new CniError(CniCode.internal, `cnet: internal error: ${(error as Error).message} (please report it)`, (error as Error).stack ?? '')
    return {stdout: JSON.stringify(errorDocument(cniError, peekVersion(stdin))) + '\n', exitCode: 1}
  }
}

type Run = (plugin: string, config: JsonObject) => Promise<DelegateOutcome>

async function add(invocation: CniInvocation, conf: CnetNetConf, run: Run): Promise<PluginOutput> {
  const delegate = renderDelegate(conf, readSubnetEnv(conf.subnetFile))
  // Look for the plugin before saving anything, so a missing one leaves no trace.
  const plugin = findPlugin(String(delegate.type), invocation.path)
  // Saved before the delegate runs: if ADD fails halfway, the runtime's DEL still finds it.
  saveDelegate(conf.dataDir, invocation.containerId, delegate)
  return passThrough(String(delegate.type), await run(plugin, delegate))
}

async function check(invocation: CniInvocation, conf: CnetNetConf, run: Run): Promise<PluginOutput> {
  if (!versionAllowsCheck(conf.cniVersion)) throw new CniError(CniCode.incompatibleVersion, `cniVersion ${conf.cniVersion} has no CHECK (use 0.4.0 or later)`)
  if (!conf.prevResult) throw new CniError(CniCode.invalidConfig, 'prevResult is missing (CHECK needs the result of ADD in the network config)')
  const saved = loadDelegate(conf.dataDir, invocation.containerId)
  if (!saved) throw new CniError(CniCode.containerUnknown, `container ${invocation.containerId} was never added to ${conf.name} on this host (nothing saved in ${conf.dataDir})`)
  const delegate = replayDelegate(saved, conf)
  return passThrough(String(delegate.type), await run(findPlugin(String(delegate.type), invocation.path), delegate))
}

async function del(invocation: CniInvocation, conf: CnetNetConf, run: Run, {log, cleanupMasq}: PluginDeps): Promise<PluginOutput> {
  const saved = loadDelegate(conf.dataDir, invocation.containerId)
  if (!saved) {
    // Never added, or deleted already: the spec wants DEL to succeed either way.
    log.debug('nothing saved for this container: nothing to delete', {containerId: invocation.containerId})
    return {stdout: '', exitCode: 0}
  }
  const delegate = replayDelegate(saved, conf)
  // The bridge removes a container's masquerade rules itself, but only through its namespace (masq-cleanup.ts).
  const namespaceGone = !invocation.netns || !existsSync(invocation.netns)
  const output = passThrough(String(delegate.type), await run(findPlugin(String(delegate.type), invocation.path), delegate))
  // Kept when the delegate failed, so the runtime's next DEL can still release the address.
  if (output.exitCode !== 0) return output
  if (delegate.type === 'bridge' && delegate.ipMasq === true && namespaceGone && cleanupMasq) {
    // The address is released either way; leftover rules are worth a try, not a failed DEL.
    await cleanupMasq(String(delegate.name), invocation.containerId).catch((error: Error) => log.debug('masquerade cleanup failed', {error: error.message}))
  }
  forgetDelegate(conf.dataDir, invocation.containerId)
  return output
}

export function readSubnetEnv(file: string): SubnetEnv {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT'
    throw new CniError(
      CniCode.subnetEnv,
      missing ? `${file} does not exist (run cnet subnet lease on this host first, or set subnetFile in the network config)` : `cannot read ${file}`,
      (error as Error).message,
    )
  }
  const parsed = parseSubnetEnv(text)
  if (!parsed.ok) throw new CniError(CniCode.subnetEnv, `${file} is not a valid subnet.env: ${parsed.problem} (run cnet subnet lease again to rewrite it)`)
  return parsed.env
}

/** The delegate's answer is the plugin's answer: its result, or its error document as it wrote it. */
function passThrough(type: string, outcome: DelegateOutcome): PluginOutput {
  const text = outcome.stdout.trim()
  let parsed: unknown
  try {
    parsed = text ? JSON.parse(text) : undefined
  } catch {
    parsed = undefined
  }
  const stderr = outcome.stderr.trim().split('\n').slice(-3).join(' | ')
  if (outcome.exitCode === 0) {
    if (!text) return {stdout: '', exitCode: 0}
    if (parsed !== undefined) return document(parsed)
    throw new CniError(CniCode.delegateFailed, `the ${type} plugin printed something that is not JSON`, text.slice(0, 500))
  }
  if (typeof parsed === 'object' && parsed !== null && typeof (parsed as JsonObject).code === 'number') return {stdout: JSON.stringify(parsed) + '\n', exitCode: 1}
  throw new CniError(CniCode.delegateFailed, `the ${type} plugin failed with exit code ${outcome.exitCode} and no error document`, stderr || text.slice(0, 500))
}

const document = (value: unknown): PluginOutput => ({stdout: JSON.stringify(value) + '\n', exitCode: 0})
