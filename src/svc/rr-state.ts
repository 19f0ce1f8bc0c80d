import {readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {writeFileAtomic} from '../lib/atomic-file.js'

/**
 * Where `svc resolve --strategy round-robin` remembers its position per service, so
 * successive calls from a script rotate: `$XDG_STATE_HOME/cnet/resolve-positions.json`,
 * else `~/.local/state/cnet/...`. A missing or unreadable file starts from 0.
 */
export function positionsFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state')
  return join(base, 'cnet', 'resolve-positions.json')
}

export function readPositions(file: string): Record<string, number> {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as unknown
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return {}
    return Object.fromEntries(Object.entries(value).filter(([, v]) => Number.isInteger(v))) as Record<string, number>
  } catch {
    return {}
  }
}

/**
 * Read, update one entry, write atomically: concurrent callers may repeat a position,
 * never corrupt the file. Not flushed to disk: a position lost in a crash only starts
 * that service's rotation over, and the flush made `svc resolve` wait for whatever else
 * the host was writing to the same disk.
 */
export function storePosition(file: string, service: string, position: number): void {
  const positions = readPositions(file)
  positions[service] = position
  writeFileAtomic(file, JSON.stringify(positions, null, 2) + '\n', 0o600, {durable: false})
}
