import {mkdirSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

/**
 * The benchmark convention: each bench/<name>.ts prints a table of its figures and
 * writes them as JSON to bench/results/<name>.json. Run with `npm run bench:<name>`,
 * never by `npm test`. The machine is shared and noisy: compare against a baseline
 * measured in the same run, and quote medians.
 */
export type Figure = {metric: string; value: number | string; unit?: string; target?: string; met?: boolean}

export function report(name: string, figures: Figure[], extra: Record<string, unknown> = {}): void {
  const width = Math.max(...figures.map((f) => f.metric.length), 6)
  console.log(`\n${name}`)
  console.log(`${'metric'.padEnd(width)}  ${'value'.padStart(12)}  unit      target`)
  for (const f of figures) {
    const value = typeof f.value === 'number' ? (Number.isInteger(f.value) ? String(f.value) : f.value.toFixed(3)) : f.value
    const verdict = f.met === undefined ? '' : f.met ? '  ok' : '  MISSED'
    console.log(`${f.metric.padEnd(width)}  ${value.padStart(12)}  ${(f.unit ?? '').padEnd(8)}  ${f.target ?? ''}${verdict}`)
  }
  const dir = fileURLToPath(new URL('../results/', import.meta.url))
  mkdirSync(dir, {recursive: true})
  const file = `${dir}${name}.json`
  writeFileSync(file, JSON.stringify({name, at: new Date().toISOString(), figures, ...extra}, null, 2) + '\n')
  console.log(`\nwrote ${file}`)
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]
}

export const median = (values: number[]) => percentile(values, 50)
