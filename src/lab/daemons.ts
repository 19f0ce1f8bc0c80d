import {spawn} from 'node:child_process'
import {closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {SystemCommandError} from '../lib/errors.js'

/**
 * The lab's background processes: each started detached inside a namespace with its
 * output in `<name>.log` and its PID in `<name>.pid`, and stopped by that PID only.
 */
export const CNET_BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export interface Daemon {
  name: string
  pid: number
  logFile: string
  pidFile: string
}

export interface DaemonSpec {
  name: string
  /** Namespace to run in (ip netns exec), or undefined for the root namespace. */
  ns?: string
  command: string
  args: string[]
  dir: string
  env?: Record<string, string>
}

export function startDaemon(spec: DaemonSpec): Daemon {
  mkdirSync(spec.dir, {recursive: true})
  const logFile = join(spec.dir, `${spec.name}.log`)
  const pidFile = join(spec.dir, `${spec.name}.pid`)
  const out = openSync(logFile, 'a')
  // `ip netns exec` execs the command, so the PID is the daemon's own.
  const [command, args] = spec.ns ? ['ip', ['netns', 'exec', spec.ns, spec.command, ...spec.args]] : [spec.command, spec.args]
  const child = spawn(command, args, {detached: true, stdio: ['ignore', out, out], env: {...process.env, ...spec.env}})
  closeSync(out)
  child.unref()
  // A command that cannot be started reports it as an 'error' event as well: without a
  // listener that event would end the lab's own process.
  child.on('error', () => {})
  if (!child.pid) throw new SystemCommandError(`lab: could not start ${spec.name} (${command} ${args.join(' ')})`, `is ${command} installed and on PATH?`)
  writeFileSync(pidFile, `${child.pid}\n`)
  // What started it, so `lab status` can start it again if it dies.
  writeFileSync(specFile(pidFile), JSON.stringify(spec) + '\n')
  return {name: spec.name, pid: child.pid, logFile, pidFile}
}

const specFile = (pidFile: string) => pidFile.replace(/\.pid$/, '.spec.json')

/**
 * The supervision: every daemon whose process has gone is started again the way it was
 * first started (its log continues). Returns the names restarted.
 */
export function restartDeadDaemons(stateDir: string): string[] {
  const restarted: string[] = []
  for (const pidFile of pidFilesUnder(stateDir)) {
    const status = daemonStatus(pidFile)
    if (status.running || !existsSync(specFile(pidFile))) continue
    startDaemon(JSON.parse(readFileSync(specFile(pidFile), 'utf8')) as DaemonSpec)
    restarted.push(status.name)
  }
  return restarted
}

/** `cnet <args>` as a daemon. */
export function startCnetDaemon(name: string, ns: string | undefined, dir: string, args: string[], env?: Record<string, string>): Daemon {
  return startDaemon({name, ns, command: process.execPath, args: [CNET_BIN, ...args], dir, env})
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined
  const pid = Number(readFileSync(pidFile, 'utf8').trim())
  return Number.isInteger(pid) && pid > 0 ? pid : undefined
}

/** SIGTERM, then SIGKILL after `graceMs`; removes the PID file. */
export async function stopDaemon(pidFile: string, graceMs = 5000): Promise<void> {
  const pid = readPid(pidFile)
  if (pid !== undefined && isAlive(pid)) {
    process.kill(pid, 'SIGTERM')
    const deadline = Date.now() + graceMs
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    if (isAlive(pid)) process.kill(pid, 'SIGKILL')
  }
  rmSync(pidFile, {force: true})
  rmSync(specFile(pidFile), {force: true})
}

/** Every PID file under a directory tree. */
export function pidFilesUnder(dir: string): string[] {
  if (!existsSync(dir)) return []
  const found: string[] = []
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) found.push(...pidFilesUnder(path))
    else if (entry.name.endsWith('.pid')) found.push(path)
  }
  return found
}

export function daemonStatus(pidFile: string): {name: string; pid?: number; running: boolean} {
  const pid = readPid(pidFile)
  const name = `${dirname(pidFile).split('/').pop()}/${pidFile.split('/').pop()!.replace(/\.pid$/, '')}`
  return {name, pid, running: pid !== undefined && isAlive(pid)}
}
