import {Command} from '@oclif/core/command'
import type * as Interfaces from '@oclif/core/interfaces'
import type {Logger} from '../lib/log.js'
import type {Keys} from '../store/keys.js'
import type {Store, StoreOptions} from '../store/store.js'
import {type CliContext, contextFromFlags} from './context.js'
import {reportFailure} from './failure.js'
import {type Column, renderTable} from './output.js'
import type {TableFlagValues} from './table-flags.js'
import {type GlobalFlagValues, globalFlags} from './global-flags.js'
import {type ChunkWriter, JsonArrayWriter, writeJson} from './json-output.js'
import {inUserTerms} from './setting-names.js'

/** Opens the store a command works on. */
export type StoreOpener = (options: StoreOptions) => Promise<Store>

/** etcd, with etcd3 and gRPC loaded only when a command first needs the store. */
const openEtcd: StoreOpener = async (options) => {
  const {openStore} = await import('../store/index.js')
  return openStore(options)
}

let storeOpener: StoreOpener = openEtcd

/**
 * A test seam: unit tests run real commands in-process on an in-memory store
 * (test/helpers/run-command-in-process.ts). Nothing else calls it; `undefined` puts
 * etcd back.
 */
export function setStoreOpener(opener: StoreOpener | undefined): void {
  storeOpener = opener ?? openEtcd
}

export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type CommandArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/**
 * The command every cnet command extends: global flags, `--json`, logs on stderr,
 * a store opened on first use and closed at the end, and every error turned into
 * one line on stderr plus the exit code of its type.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true
  static override baseFlags = globalFlags
  /**
   * How a library's field names (InvalidValueError.field) are told to the user when they
   * are not simply this command's flag or argument of the same name: field -> "--flag".
   */
  static fieldNames: Record<string, string> = {}

  protected flags!: CommandFlags<T>
  protected args!: CommandArgs<T>
  private cliContext: CliContext | undefined
  private openedStore: Store | undefined
  /** Set once the command writes its --json output itself (jsonArrayWriter). */
  private jsonWritten = false
  /** --log-level and --log-format (or their CNET_* variables) as parsed; unset when parsing did not get that far. */
  private parsedLogLevel: string | undefined
  private parsedLogFormat: string | undefined

  override async init(): Promise<void> {
    await super.init()
    const {args, flags} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as CommandFlags<T>
    this.args = args as CommandArgs<T>
    this.parsedLogLevel = (flags as unknown as GlobalFlagValues)['log-level']
    this.parsedLogFormat = (flags as unknown as GlobalFlagValues)['log-format']
    // A programming error on demand, so the tests can prove how one is reported without
    // keeping a real bug around for the purpose. Never set in use.
    if (process.env.CNET_TEST_INTERNAL_ERROR === '1') throw new TypeError('injected by CNET_TEST_INTERNAL_ERROR')
    this.cliContext = contextFromFlags(flags as unknown as GlobalFlagValues)
  }

  protected get context(): CliContext {
    if (!this.cliContext) throw new Error('command context used before init')
    return this.cliContext
  }

  protected get logger(): Logger {
    return this.context.logger
  }

  protected get keys(): Keys {
    return this.context.keys
  }

  /** The store, opened on first use; closed when the command ends. */
  protected async store(): Promise<Store> {
    if (!this.openedStore) this.openedStore = await storeOpener(this.context.storeOptions)
    return this.openedStore
  }

  /**
   * Prints rows as a table (src/cli/output.ts) with the command's --wide and
   * --no-headers; no rows: `empty` on stderr (as kubectl says "No resources found"), so
   * a script reading stdout sees nothing. Under --json nothing is laid out at all.
   */
  protected printTable<Row>(columns: Column<Row>[], rows: Row[], empty: string, options: {headers?: boolean} = {}): void {
    if (this.jsonEnabled()) return
    if (rows.length === 0) {
      this.logToStderr(empty)
      return
    }
    const flags = this.flags as TableFlagValues
    this.log(renderTable(columns, rows, {wide: flags.wide, headers: options.headers !== false && !flags['no-headers']}))
  }

  override logJson(json: unknown): void {
    if (this.jsonWritten) return
    writeJson(json, writeToStdout)
  }

  /**
   * Under --json, an array the command writes to stdout as its items come, in place of
   * the value run() returns (which is then not printed).
   */
  protected jsonArrayWriter(): JsonArrayWriter {
    this.jsonWritten = true
    return new JsonArrayWriter(writeToStdout)
  }

  override async finally(error: Error | undefined): Promise<void> {
    await this.openedStore?.close().catch(() => {})
    this.openedStore = undefined
    await super.finally(error)
  }

  override async catch(error: Error & {oclif?: {exit?: number}; code?: string}): Promise<never> {
    // this.exit() throws oclif's ExitError: let it through untouched.
    if (error.code === 'EEXIT') throw error
    error = inUserTerms(error, this.ctor as unknown as typeof BaseCommand)
    const code = reportFailure(error, {
      // Once the command has written part of its --json output, stdout is left as it is,
      // cut short (not valid JSON), and the error goes to stderr alone.
      json: this.jsonEnabled() && !this.jsonWritten,
      argv: this.argv,
      logLevel: this.parsedLogLevel,
      logFormat: this.parsedLogFormat,
      help: commandHelp(this.config.bin, this.id),
    })
    this.exit(code)
    throw error // not reached: exit() throws
  }
}

/**
 * Writes to stdout; true when nothing is left queued after it, so the chunk's bytes are
 * out (a write to a file or, on Linux, a pipe is done before it returns).
 */
const writeToStdout: ChunkWriter = (chunk) => {
  process.stdout.write(chunk)
  return process.stdout.writableLength === 0
}

/** Where a command's usage errors point to: `cnet svc register --help`. */
export function commandHelp(bin: string, id: string | undefined): string {
  return [bin, ...(id ? id.split(':') : []), '--help'].join(' ')
}
