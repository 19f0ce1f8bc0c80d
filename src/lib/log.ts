/**
 * Logs go to stderr, never stdout (stdout is for results). Text for people, one JSON
 * object per line for journald/jq with `--log-format json`. Each logger has a
 * component ("store/etcd", "vxlan", "dns/forward") so a line says where it came from.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFormat = 'text' | 'json'
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error']
const RANK: Record<LogLevel, number> = {debug: 10, info: 20, warn: 30, error: 40}

export type LogFields = Record<string, unknown>
export type LogSink = (line: string) => void

export interface Logger {
  readonly level: LogLevel
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
  child(component: string): Logger
}

export interface LoggerOptions {
  level?: LogLevel
  format?: LogFormat
  component?: string
  sink?: LogSink
}

const stderrSink: LogSink = (line) => {
  process.stderr.write(line + '\n')
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info'
  const format = options.format ?? 'text'
  const sink = options.sink ?? stderrSink
  const component = options.component ?? 'cnet'
  const write = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (RANK[lvl] < RANK[level]) return
    sink(format === 'json' ? jsonLine(lvl, component, msg, fields) : textLine(lvl, component, msg, fields))
  }
  return {
    level,
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (sub) => createLogger({level, format, sink, component: sub}),
  }
}

/** One JSON object: time, level, component, msg, then the fields (an Error as its message). */
export function jsonLine(level: LogLevel, component: string, msg: string, fields?: LogFields): string {
  const values = fields ? Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v instanceof Error ? v.message : v])) : {}
  return JSON.stringify({time: new Date().toISOString(), level, component, msg, ...values})
}

/**
 * `LEVEL component: msg key=value ...` on one line, whatever the values hold: a value
 * with a space, a quote, an = or a control character is double-quoted with escapes
 * (logfmt style), and a newline in the message is written as \n.
 */
export function textLine(level: LogLevel, component: string, msg: string, fields?: LogFields): string {
  const extra = fields
    ? Object.entries(fields)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${logfmtValue(v)}`)
        .join(' ')
    : ''
  return `${level.toUpperCase().padEnd(5)} ${component}: ${escapeControls(msg)}${extra ? ' ' + extra : ''}`
}

export function logfmtValue(value: unknown): string {
  const text = value instanceof Error ? value.message : typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value))
  return text === '' || /[\s"=\\\x00-\x1f\x7f]/.test(text) ? JSON.stringify(text) : text
}

function escapeControls(text: string): string {
  return /[\x00-\x1f\x7f]/.test(text) ? JSON.stringify(text).slice(1, -1) : text
}

/** A logger that drops everything: for library calls made from tests. */
export const silentLogger: Logger = createLogger({level: 'error', sink: () => {}})
