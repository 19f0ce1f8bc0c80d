import {type HealthStatus, parseHealthStatus} from './model.js'

/**
 * parseHealthStatus on a value still in the bytes etcd sent: a record exactly as cnet
 * writes it is read there, without making its text; anything else is made text and
 * read as parseHealthStatus reads it. A fleet's 100,000 health records had cost dns
 * serve's start a text each (a third of the time of staging them) only to read one word.
 *
 * The walk takes exactly the records JSON.parse would read as a status followed by
 * string fields it knows (`{"status":"passing","output":"...",...}`, no spaces), with
 * JSON's own string grammar. On bytes that gives the decoded text's answer: an ASCII
 * byte decodes to itself, and every other byte, in a valid sequence or not, to a
 * character above U+007F, which a JSON string takes as it is.
 */
export function healthStatusOfBytes(bytes: Buffer, start: number, end: number): HealthStatus | undefined {
  return canonicalHealthStatus(bytes, start, end) ?? parseHealthStatus(bytes.toString('utf8', start, end))
}

const STATUS_OPENING = Buffer.from('{"status":"')
const STATUSES: readonly [Buffer, HealthStatus][] = (['passing', 'warning', 'critical'] as const).map((status) => [Buffer.from(`${status}"`), status])
const FIELD_OPENINGS: readonly [Buffer][] = ['output', 'since', 'checkedAt', 'prober'].map((name) => [Buffer.from(`,"${name}":"`)])

const QUOTE = 0x22
const BACKSLASH = 0x5c
const CLOSING_BRACE = 0x7d
/** What may follow a backslash in a JSON string, besides `u` and four hex digits. */
const SHORT_ESCAPES = new Set([...'"\\/bfnrt'].map((c) => c.charCodeAt(0)))

/**
 * Whether bytes[at..end) starts with `expected`. A loop in JavaScript: the texts are a few
 * bytes long, and with Buffer.compare's call into C++ per text, 100,000 records took 190
 * ms instead of 25 (medians of five runs: 125-200 against 24-35 ms).
 */
function startsWith(bytes: Buffer, at: number, end: number, expected: Buffer): boolean {
  const length = expected.length
  if (end - at < length) return false
  for (let i = 0; i < length; i++) if (bytes[at + i] !== expected[i]) return false
  return true
}

const isHexDigit = (byte: number) => (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)

/** The status of a record as cnet writes it in bytes[start..end), or undefined when it is not one. */
export function canonicalHealthStatus(bytes: Buffer, start: number, end: number): HealthStatus | undefined {
  if (!startsWith(bytes, start, end, STATUS_OPENING)) return undefined
  let at = start + STATUS_OPENING.length
  const status = startingWith(bytes, at, end, STATUSES)
  if (status < 0) return undefined
  at += STATUSES[status]![0].length
  for (;;) {
    if (at === end - 1 && bytes[at] === CLOSING_BRACE) return STATUSES[status]![1]
    const opening = startingWith(bytes, at, end, FIELD_OPENINGS)
    if (opening < 0) return undefined
    at = stringEnd(bytes, at + FIELD_OPENINGS[opening]![0].length, end)
    if (at < 0) return undefined
  }
}

/** Which of the texts bytes[at..end) starts with, or -1. */
function startingWith(bytes: Buffer, at: number, end: number, texts: readonly (readonly [Buffer, ...unknown[]])[]): number {
  for (let i = 0; i < texts.length; i++) if (startsWith(bytes, at, end, texts[i]![0])) return i
  return -1
}

/** Where a JSON string's content starting at `at` ends, past its closing quote; -1 when it is not one. */
function stringEnd(bytes: Buffer, at: number, end: number): number {
  while (at < end) {
    const byte = bytes[at]!
    if (byte === QUOTE) return at + 1
    if (byte < 0x20) return -1
    if (byte !== BACKSLASH) {
      at++
      continue
    }
    const escaped = bytes[at + 1]
    if (escaped === undefined || at + 1 >= end) return -1
    if (SHORT_ESCAPES.has(escaped)) at += 2
    else if (escaped === 0x75 && at + 5 < end && isHexDigit(bytes[at + 2]!) && isHexDigit(bytes[at + 3]!) && isHexDigit(bytes[at + 4]!) && isHexDigit(bytes[at + 5]!)) at += 6
    else return -1
  }
  return -1
}
