import {createRequire} from 'node:module'
import {Chalk} from 'chalk'

// cli-table3 and its dependencies are loaded only when a table is printed, not for --json.
const require = createRequire(import.meta.url)

/**
 * Human output: tables and colour. Colour only when stdout is a terminal and
 * NO_COLOR is unset; tables never carry ANSI codes when piped.
 */
export function colourEnabled(): boolean {
  return Boolean(process.stdout.isTTY) && process.env.NO_COLOR === undefined && process.env.TERM !== 'dumb'
}

export const paint = new Chalk({level: colourEnabled() ? 1 : 0})

export function table(head: string[], rows: (string | number)[][]): string {
  const Table = require('cli-table3') as typeof import('cli-table3')
  const t = new Table({head: head.map((h) => paint.bold(h)), style: {head: [], border: []}})
  t.push(...rows.map((r) => r.map(String)))
  return t.toString()
}

/** "key: value" lines, aligned, for one object. */
export function keyValues(entries: [string, unknown][]): string {
  const width = Math.max(...entries.map(([k]) => k.length))
  return entries.map(([k, v]) => `${paint.bold(k.padEnd(width))}  ${typeof v === 'string' ? v : JSON.stringify(v)}`).join('\n')
}

export function statusColour(status: string): string {
  if (status === 'passing' || status === 'ok') return paint.green(status)
  if (status === 'warning') return paint.yellow(status)
  if (status === 'critical' || status === 'invalid' || status === 'error') return paint.red(status)
  return status
}
