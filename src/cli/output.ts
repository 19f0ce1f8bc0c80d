import {createRequire} from 'node:module'
import {Chalk} from 'chalk'
import {ipv4Value, parseCidr, parseIp} from '../net/ip.js'

// cli-table3 lays the columns out; it is loaded only when a table is drawn on a terminal.
const require = createRequire(import.meta.url)

/**
 * Human output: tables, records and colour, in the style of kubectl and gh.
 *
 * On a terminal a table is aligned columns under upper-case headers, no boxes, fitted
 * to the terminal's width by cutting its free-text columns; piped, it is tab-separated
 * values with no colour and nothing cut, for cut, awk and `while read`. Colour only on
 * a terminal with NO_COLOR unset.
 */
export function colourEnabled(): boolean {
  return Boolean(process.stdout.isTTY) && process.env.NO_COLOR === undefined && process.env.TERM !== 'dumb'
}

export const paint = new Chalk({level: colourEnabled() ? 1 : 0})

/** Where output goes: a terminal of some width, or a pipe or file. */
export interface Terminal {
  tty: boolean
  /** Columns, on a terminal that says. */
  width?: number
  colour: boolean
}

export function stdoutTerminal(): Terminal {
  return {tty: Boolean(process.stdout.isTTY), width: process.stdout.columns || undefined, colour: colourEnabled()}
}

export interface Column<Row> {
  /** Upper case, as kubectl and gh write them. */
  header: string
  value: (row: Row) => string | number | null | undefined
  /** Shown only in wide mode (--wide). */
  wide?: boolean
  /** Free text that may be cut with "..." to fit the terminal (check output, host names). */
  truncate?: boolean
  /** Colour on a terminal, applied to the text once fitted. */
  colour?: (text: string, row: Row) => string
}

export interface TableOptions {
  wide?: boolean
  /** false: no header row (--no-headers). */
  headers?: boolean
}

const GAP = '  '
/** cli-table3 without boxes: no borders, no rules between rows, two spaces between columns. */
const NO_BORDERS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '',
  middle: GAP,
}
const ELLIPSIS = '...'

/** The table as text, without a final newline; '' for no rows (see printTable for what is said then). */
export function renderTable<Row>(columns: Column<Row>[], rows: Row[], options: TableOptions = {}, terminal: Terminal = stdoutTerminal()): string {
  if (rows.length === 0) return ''
  const shown = columns.filter((c) => options.wide || !c.wide)
  const cells = rows.map((row) => shown.map((c) => cellText(c.value(row))))
  const headers = options.headers === false ? undefined : shown.map((c) => c.header)
  if (!terminal.tty) return [...(headers ? [headers] : []), ...cells].map((line) => line.join('\t')).join('\n')

  const widths = shown.map((_, i) => Math.max(headers ? headers[i].length : 0, ...cells.map((line) => line[i].length)))
  if (terminal.width) fitWidths(widths, shown, headers, terminal.width)
  const bold = (text: string) => (terminal.colour ? paint.bold(text) : text)
  const styled = (texts: string[], style: (text: string, i: number) => string) => texts.map((text, i) => style(fit(text, widths[i]), i))
  const Table = require('cli-table3') as typeof import('cli-table3')
  const table = new Table({chars: NO_BORDERS, style: {head: [], border: [], 'padding-left': 0, 'padding-right': 0}, colWidths: widths, wordWrap: false})
  if (headers) table.push(styled(headers, bold))
  cells.forEach((texts, r) => table.push(styled(texts, (text, i) => (terminal.colour && shown[i].colour ? shown[i].colour!(text, rows[r]) : text))))
  return table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
}

/**
 * Narrows the free-text columns, widest first, until the line fits the terminal or
 * each is down to its header (at least 5 characters). Addresses and ids are never cut:
 * a line that cannot fit without cutting them is left to wrap.
 */
function fitWidths<Row>(widths: number[], columns: Column<Row>[], headers: string[] | undefined, terminalWidth: number): void {
  const floor = columns.map((c, i) => Math.min(widths[i], Math.max(5, headers ? headers[i].length : 0)))
  let excess = widths.reduce((sum, w) => sum + w, 0) + GAP.length * (widths.length - 1) - terminalWidth
  while (excess > 0) {
    let widest = -1
    for (let i = 0; i < widths.length; i++) {
      if (columns[i].truncate && widths[i] > floor[i] && (widest < 0 || widths[i] > widths[widest])) widest = i
    }
    if (widest < 0) return
    widths[widest]--
    excess--
  }
}

function fit(text: string, width: number): string {
  if (text.length <= width) return text
  return width <= ELLIPSIS.length ? text.slice(0, width) : text.slice(0, width - ELLIPSIS.length) + ELLIPSIS
}

/** One line of plain text for a cell: absent is blank, whitespace runs and control characters become one space. */
export function cellText(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return ''
  return String(value)
    .replace(/[\s\x00-\x1f\x7f]+/g, ' ')
    .trim()
}

/**
 * Orders addresses, subnets and HOST:PORT numerically: IPv4 before IPv6, then by
 * address, prefix length and port (10.5.7.0/24 before 10.5.53.0/24). Text that is none
 * of these comes after, in text order.
 */
export function compareAddresses(a: string, b: string): number {
  return compareKeys(addressKey(a), addressKey(b), a, b)
}

/** An IPv4 address's value is a number: comparing numbers is several times cheaper than comparing bigints, and a sort of 10,000 rows compares 130,000 times. */
type AddressKey = {family: number; value: number | bigint; prefix: number; port: number}
const sortValue = (family: number, value: bigint): number | bigint => (family === 4 ? Number(value) : value)

function compareKeys(x: AddressKey | undefined, y: AddressKey | undefined, a: string, b: string): number {
  if (x && y) return x.family - y.family || (x.value < y.value ? -1 : x.value > y.value ? 1 : 0) || x.prefix - y.prefix || x.port - y.port
  if (x || y) return x ? -1 : 1
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * Sorts rows in place by an address, subnet or HOST:PORT (compareAddresses' order),
 * then by `tie`: each row's address is parsed once, not once per comparison, so 20,000
 * rows sort in milliseconds.
 */
export function sortByAddress<Row>(rows: Row[], address: (row: Row) => string, tie: (a: Row, b: Row) => number = () => 0): Row[] {
  return sortByKey(rows, (row) => {
    const text = address(row)
    return {text, key: addressKey(text)}
  }, tie)
}

/**
 * sortByAddress by HOST:PORT for rows that keep the address and the port apart, keyed
 * from the two: an IPv4 address (nearly every row) is read straight into its key instead
 * of being joined into a text and parsed back out (100,000 rows of `svc list` spent
 * about 100 ms on that).
 */
export function sortByHostPort<Row>(rows: Row[], address: (row: Row) => string, port: (row: Row) => number): Row[] {
  return sortByKey(rows, (row) => {
    const host = address(row)
    const v4 = host.includes(':') ? undefined : ipv4Value(host)
    if (v4 !== undefined) return {text: '', key: {family: 4, value: v4, prefix: 32, port: port(row)}}
    const text = hostPort(host, port(row))
    return {text, key: addressKey(text)}
  })
}

/** Rows in place by their keys (the text decides between rows without one), then by `tie`. */
function sortByKey<Row>(rows: Row[], keyOf: (row: Row) => {text: string; key: AddressKey | undefined}, tie: (a: Row, b: Row) => number = () => 0): Row[] {
  const keyed = rows.map((row) => ({row, ...keyOf(row)}))
  keyed.sort((a, b) => tie(a.row, b.row) || compareKeys(a.key, b.key, a.text, b.text))
  keyed.forEach((k, i) => (rows[i] = k.row))
  return rows
}

function addressKey(text: string): AddressKey | undefined {
  // "10.5.7.0/24, fd00::/64" (a dual-stack lease) sorts by its first subnet.
  const end = text.search(/[\s,]/)
  const first = end < 0 ? text : text.slice(0, end)
  const cidr = parseCidr(first)
  if (cidr) return {family: cidr.family, value: sortValue(cidr.family, cidr.ip), prefix: cidr.prefix, port: 0}
  const ip = parseIp(first)
  if (ip) return {family: ip.family, value: sortValue(ip.family, ip.value), prefix: ip.family === 4 ? 32 : 128, port: 0}
  const hostPortMatch = /^\[?([^\]]+?)\]?:(\d+)$/.exec(first)
  const host = hostPortMatch ? parseIp(hostPortMatch[1]) : undefined
  if (host) return {family: host.family, value: sortValue(host.family, host.value), prefix: host.family === 4 ? 32 : 128, port: Number(hostPortMatch![2])}
  return undefined
}

export type RecordValue = string | number | boolean | string[] | null | undefined
/** A field of a record: its name, its value, and how to colour the value on a terminal. */
export type RecordField = [string, RecordValue] | [string, RecordValue, (text: string) => string]

/**
 * One record as aligned "key  value" lines. Absent values are blank, lists are joined
 * with ", ", and text is kept to one line per field.
 */
export function renderRecord(fields: RecordField[], terminal: Pick<Terminal, 'colour'> = stdoutTerminal()): string {
  const width = Math.max(...fields.map(([k]) => k.length))
  return fields
    .map(([key, value, colour]) => {
      const text = Array.isArray(value) ? value.map(cellText).join(', ') : cellText(typeof value === 'boolean' ? String(value) : value)
      if (!terminal.colour) return `${key.padEnd(width)}  ${text}`.trimEnd()
      return `${paint.bold(key.padEnd(width))}  ${colour && text ? colour(text) : text}`.trimEnd()
    })
    .join('\n')
}

export function statusColour(status: string): string {
  if (status === 'passing' || status === 'ok' || status === 'programmed') return paint.green(status)
  if (status === 'warning' || status === 'partial') return paint.yellow(status)
  if (status === 'critical' || status === 'invalid' || status === 'error' || status === 'missing') return paint.red(status)
  return status
}

/** An address and port as a client writes them: [v6]:port for IPv6. */
export function hostPort(address: string, port: number): string {
  return `${address.includes(':') ? `[${address}]` : address}:${port}`
}
