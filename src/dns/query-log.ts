import type {Logger} from '../lib/log.js'
import {rcodeLabel, typeLabel} from './metrics.js'

/** One query and its reply, as CoreDNS's log plugin reports them. */
export interface QueryLogEntry {
  client: string
  port: number
  id: number
  type: string
  class: string
  /** With the trailing dot, as asked (lower-cased). */
  name: string
  proto: 'udp' | 'tcp'
  /** Request size in bytes. */
  size: number
  /** The DNSSEC OK bit. */
  do: boolean
  /** The client's UDP buffer size (512 without EDNS). */
  bufsize: number
  rcode: string
  /** Reply flags, comma-separated (qr,aa,tc,rd,ra). */
  flags: string
  /** Reply size in bytes. */
  rsize: number
  /** Seconds taken. */
  duration: number
}

export type QueryLog = (entry: QueryLogEntry) => void

/**
 * Text logs keep CoreDNS's line, so tools that parse it keep working; JSON logs carry
 * the same values as fields of the record (msg "query"), not a line to parse again.
 */
export function createQueryLog(logger: Logger, format: 'text' | 'json'): QueryLog {
  if (format === 'json') return (entry) => logger.info('query', entry as unknown as Record<string, unknown>)
  return (entry) => logger.info(coreDnsLine(entry))
}

/** `[INFO] {remote}:{port} - {id} "{type} {class} {name} {proto} {size} {do} {bufsize}" {rcode} {rflags} {rsize} {duration}` */
export function coreDnsLine(e: QueryLogEntry): string {
  return `[INFO] ${e.client}:${e.port} - ${e.id} "${e.type} ${e.class} ${e.name} ${e.proto} ${e.size} ${e.do} ${e.bufsize}" ${e.rcode} ${e.flags} ${e.rsize} ${e.duration.toFixed(6)}s`
}

const FLAG_BITS: [string, number][] = [
  ['qr', 0x8000],
  ['aa', 0x0400],
  ['tc', 0x0200],
  ['rd', 0x0100],
  ['ra', 0x0080],
]

export function flagNames(flags: number): string {
  return FLAG_BITS.filter(([, bit]) => flags & bit)
    .map(([name]) => name)
    .join(',')
}

const CLASS_LABELS: Record<number, string> = {1: 'IN', 3: 'CH', 4: 'HS', 254: 'NONE', 255: 'ANY'}
export const classLabel = (klass: number): string => CLASS_LABELS[klass] ?? `CLASS${klass}`
export {rcodeLabel, typeLabel}
