import {readFileSync} from 'node:fs'
import {CnetError, ExitCode} from '../../lib/errors.js'

const CAP_NET_ADMIN = 12n

/** Whether this process may change links, routes and rules (root or CAP_NET_ADMIN). */
export function hasNetAdmin(): boolean {
  if (process.getuid?.() === 0) return true
  try {
    const status = readFileSync('/proc/self/status', 'utf8')
    const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)
    return eff !== null && ((BigInt(`0x${eff[1]}`) >> CAP_NET_ADMIN) & 1n) === 1n
  } catch {
    return false
  }
}

/** Checked before anything is read or changed, so a refusal leaves nothing half-done. */
export function requireNetAdmin(command: string): void {
  if (!hasNetAdmin()) throw new CnetError(`${command}: needs root (CAP_NET_ADMIN) to change links, routes and iptables rules`, ExitCode.failure, 'run it with sudo')
}
