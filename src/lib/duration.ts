import {InvalidValueError} from './errors.js'

const UNIT_MS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000}
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy

/**
 * Parses a Go-style duration ("90s", "1m30s", "24h", "500ms") into milliseconds.
 * A bare number is seconds, as Consul reads it. Returns undefined when it does not parse.
 */
export function parseDurationMs(text: string): number | undefined {
  const trimmed = text.trim()
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000
  if (trimmed === '') return undefined
  PART.lastIndex = 0
  let total = 0
  let consumed = 0
  for (let match = PART.exec(trimmed); match; match = PART.exec(trimmed)) {
    total += Number(match[1]) * UNIT_MS[match[2]]
    consumed = PART.lastIndex
  }
  return consumed === trimmed.length ? total : undefined
}

/**
 * The one duration check: a Go-style duration from `minMs` to `maxMs`, in milliseconds.
 * A value that does not parse or is out of range is an InvalidValueError naming `field`
 * in the caller's own terms ("resync", "check.interval"); the CLI tells it as the flag
 * or file entry it came from.
 */
export function requireDuration(field: string, text: string, minMs = 0, maxMs = Number.POSITIVE_INFINITY): number {
  const ms = parseDurationMs(text)
  if (ms === undefined) throw new InvalidValueError(field, `"${text}" is not a duration`, 'use e.g. 500ms, 30s, 5m, 24h')
  if (ms < minMs) throw new InvalidValueError(field, `${text} is too short`, `the minimum is ${formatDuration(minMs)}`)
  if (ms > maxMs) throw new InvalidValueError(field, `${text} is too long`, `the maximum is ${formatDuration(maxMs)}`)
  return ms
}

/** 90_000 -> "1m30s"; 0 -> "0s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  let rest = Math.round(ms / 1000)
  const parts: string[] = []
  for (const [unit, size] of [['h', 3600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size)
    if (n > 0) parts.push(`${n}${unit}`)
    rest -= n * size
  }
  return parts.join('') || '0s'
}
