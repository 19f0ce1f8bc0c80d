import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Config} from '@oclif/core/config'
import {setStoreOpener} from '../../src/cli/base-command.js'
import type {MemoryStore} from './memory-store.js'

/**
 * Runs a cnet command in this process, from its source, as `cnet ARGV...` would run it:
 * the real oclif config and the command's real class, so flag parsing, BaseCommand's
 * catch, exit codes and --json error documents all run for real. The store is a
 * MemoryStore (each run gets a client of its own, which the command closes); the
 * command's stdout and stderr are captured and handed back. For the unit tier: the
 * integration and e2e tiers run the built CLI (test/helpers/cli.ts).
 */
export interface InProcessResult {
  stdout: string
  stderr: string
  exitCode: number
}

export interface InProcessOptions {
  /** The data the command reads and writes. Without it, opening the store fails the test. */
  store?: MemoryStore
  /** The command's client cannot reach the store (StoreUnavailableError on every call). */
  down?: boolean
  /** Environment variables set for the run (undefined removes one), put back afterwards. */
  env?: Record<string, string | undefined>
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const COMMANDS = join(ROOT, 'src/commands')
const ANSI = /\x1b\[[0-9;]*m/g

let config: Promise<Config> | undefined

type RunnableCommand = {id?: string; new (argv: string[], config: Config): {_run(): Promise<unknown>}}

/** The command an argv names (`svc register ...` -> src/commands/svc/register.ts) and the rest of the argv. */
async function commandOf(argv: string[]): Promise<{command: RunnableCommand; id: string; rest: string[]}> {
  for (let words = Math.min(argv.length, 3); words > 0; words--) {
    const path = argv.slice(0, words)
    if (path.some((word) => word.startsWith('-'))) continue
    for (const file of [`${path.join('/')}.ts`, `${path.join('/')}/index.ts`]) {
      if (!existsSync(join(COMMANDS, file))) continue
      const module = (await import(join(COMMANDS, file))) as {default: RunnableCommand}
      return {command: module.default, id: path.join(':'), rest: argv.slice(words)}
    }
  }
  throw new Error(`no command in src/commands for: ${argv.join(' ')}`)
}

export async function runCommandInProcess(argv: string[], options: InProcessOptions = {}): Promise<InProcessResult> {
  config ??= Config.load(ROOT)
  const loaded = await config
  const {command, id, rest} = await commandOf(argv)
  // oclif sets the id when it loads a command from its manifest; here the class comes from src.
  command.id = id

  const out: string[] = []
  const err: string[] = []
  const text = (chunk: unknown) => (typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'))
  const saved = {stdout: process.stdout.write, stderr: process.stderr.write, log: console.log, error: console.error, env: {...process.env}}
  process.stdout.write = ((chunk: unknown) => out.push(text(chunk)) > 0) as typeof process.stdout.write
  process.stderr.write = ((chunk: unknown) => err.push(text(chunk)) > 0) as typeof process.stderr.write
  // oclif's this.log and logToStderr print through console.
  console.log = (...args: unknown[]) => void out.push(args.join(' ') + '\n')
  console.error = (...args: unknown[]) => void err.push(args.join(' ') + '\n')
  for (const [name, value] of Object.entries({NO_COLOR: '1', ...options.env})) {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
  setStoreOpener(async () => {
    if (!options.store) throw new Error(`${argv.join(' ')}: opened the store, but the test gave none`)
    const client = options.store.connect()
    if (options.down) client.setDown(true)
    return client
  })

  let exitCode = 0
  try {
    await new command(rest, loaded)._run()
  } catch (error) {
    const exit = (error as {oclif?: {exit?: number}}).oclif?.exit
    if (exit === undefined) throw error
    exitCode = exit
  } finally {
    setStoreOpener(undefined)
    process.stdout.write = saved.stdout
    process.stderr.write = saved.stderr
    console.log = saved.log
    console.error = saved.error
    for (const name of Object.keys(process.env)) if (!(name in saved.env)) delete process.env[name]
    Object.assign(process.env, saved.env)
  }
  return {stdout: out.join('').replace(ANSI, ''), stderr: err.join('').replace(ANSI, ''), exitCode}
}
