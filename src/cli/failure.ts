import {CnetError, ExitCode} from '../lib/errors.js'
import {jsonLine} from '../lib/log.js'

/**
 * How a failed command is told: one line on stderr (text, or a JSON log line with
 * --log-format json), the exit code of its class, and with --json one error document
 * on stdout. Shared by the base command and the command-not-found hook.
 */

/** The `code` of a --json error document: one name per exit code (docs/cli.md). */
export const ERROR_CODES: Record<number, string> = {
  [ExitCode.failure]: 'Failure',
  [ExitCode.usage]: 'UsageError',
  [ExitCode.config]: 'ConfigError',
  [ExitCode.storeUnavailable]: 'StoreUnavailableError',
  [ExitCode.conflict]: 'ConflictError',
  [ExitCode.systemCommand]: 'SystemCommandError',
  [ExitCode.internal]: 'InternalError',
}

export interface DescribedError {
  /** The exit code. */
  code: number
  /** The --json document's `code`, from ERROR_CODES. */
  name: string
  line: string
}

type MaybeParseError = Error & {oclif?: {exit?: number}; args?: {name?: string; description?: string}[]}

/**
 * Maps any error to its exit code, its class name and a single line of text. `help` is
 * where oclif's parse errors point to (`cnet svc register --help`).
 */
export function describeError(error: MaybeParseError, help = '--help'): DescribedError {
  // A message from elsewhere (a JSON parser, a system command's stderr) may run over
  // several lines: the error is told in one.
  const described = (code: number, line: string) => ({code, name: ERROR_CODES[code] ?? ERROR_CODES[ExitCode.failure], line: line.replace(/\s*\n\s*/g, ' ').trim()})
  if (error instanceof CnetError) return described(error.exitCode, error.oneLine())
  if (error.oclif?.exit !== undefined) {
    // oclif's own parse errors: missing or unknown flags and arguments, bad options.
    return described(error.oclif.exit === 0 ? 0 : ExitCode.usage, `${parseErrorLine(error)} (see ${help})`)
  }
  return described(ExitCode.internal, `internal error: ${error.message} (run with --log-level debug for the stack)`)
}

const ANSI = /\x1b\[[0-9;]*m/g

/**
 * oclif's whole parse error on one line: which flag or argument, and what was expected.
 * Its "See more help" and "The following errors occurred" lines go; the rest is joined.
 */
export function parseErrorLine(error: MaybeParseError): string {
  const lines = (error.message ?? '')
    .replace(ANSI, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && l !== 'See more help with --help' && !/^The following errors? occurred:$/.test(l))
  const head = lines[0] ?? 'invalid arguments'
  if (/^Missing \d+ required args?:$/.test(head) && Array.isArray(error.args)) {
    // oclif lists the arguments as a two-column table: name them as the usage line does.
    const missing = error.args.map((a) => (a.description ? `${(a.name ?? '').toUpperCase()} (${a.description})` : (a.name ?? '').toUpperCase()))
    const notes = lines.filter((l) => /^(Note:|Alternatively)/.test(l))
    return [`${head} ${missing.join(', ')}`, ...notes].join('; ')
  }
  return lines
    .map((l) => l.replace(/^Missing required flag ([\w-]+)$/, 'Missing required flag --$1'))
    // "Parsing --nodes" heads the reason its value was refused.
    .map((l) => l.replace(/^(Parsing --[\w-]+)$/, '$1:'))
    .reduce((joined, l) => (joined === '' ? l : joined.endsWith(':') ? `${joined} ${l}` : `${joined}; ${l}`), '')
}

/**
 * The value a command line gives a global flag, read without the flag parser (for
 * errors that happen before or during parsing): the last `--flag VALUE` or
 * `--flag=VALUE` before any `--`, else the environment variable.
 */
export function requestedFlag(argv: readonly string[], env: NodeJS.ProcessEnv, flag: string, envName: string): string | undefined {
  let value: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--') break
    if (arg === `--${flag}` && i + 1 < argv.length) value = argv[++i]
    else if (arg.startsWith(`--${flag}=`)) value = arg.slice(flag.length + 3)
  }
  return value ?? env[envName]
}

/** Whether --log-level debug was asked for (the stack of an internal error is printed then). */
export function requestedLogLevel(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  return requestedFlag(argv, env, 'log-level', 'CNET_LOG_LEVEL')
}

export function requestedLogFormat(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  return requestedFlag(argv, env, 'log-format', 'CNET_LOG_FORMAT')
}

export interface FailureReport {
  /** --json: the error document goes to stdout too. */
  json: boolean
  argv: readonly string[]
  /** As parsed; when parsing did not get that far, read from argv and the environment. */
  logLevel?: string
  logFormat?: string
  /** Where parse errors point to, e.g. `cnet svc register --help`. */
  help?: string
  stdout?: (text: string) => void
  stderr?: (text: string) => void
}

/** Tells the failure and returns its exit code. */
export function reportFailure(error: Error, report: FailureReport): number {
  const stdout = report.stdout ?? ((text: string) => process.stdout.write(text))
  const stderr = report.stderr ?? ((text: string) => process.stderr.write(text))
  const described = describeError(error, report.help)
  if (report.json) stdout(JSON.stringify({error: {code: described.name, message: described.line, exitCode: described.code}}, null, 2) + '\n')
  const level = report.logLevel ?? requestedLogLevel(report.argv, process.env)
  const format = report.logFormat ?? requestedLogFormat(report.argv, process.env)
  const stack = described.code === ExitCode.internal && level === 'debug' ? error.stack : undefined
  if (format === 'json') {
    stderr(jsonLine('error', 'cnet', described.line, {code: described.name, exitCode: described.code, stack}) + '\n')
  } else {
    stderr(`cnet: ${described.line}\n`)
    if (stack) stderr(stack + '\n')
  }
  return described.code
}
