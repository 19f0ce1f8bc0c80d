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
    if (format === 'json') {
      sink(JSON.stringify({time: new Date().toISOString(), level: lvl, component, msg, ...fields}))
      return
    }
    const extra = fields
      ? Object.entries(fields)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ')
      : ''
    sink(`${lvl.toUpperCase().padEnd(5)} ${component}: ${msg}${extra ? ' ' + extra : ''}`)
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

/** A logger that drops everything: for library calls made from tests. */
export const silentLogger: Logger = createLogger({level: 'error', sink: () => {}})
