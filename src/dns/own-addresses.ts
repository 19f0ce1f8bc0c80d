import {networkInterfaces} from 'node:os'
import {isIP} from 'node:net'
import type {HostPort} from '../lib/listen-address.js'

type Interfaces = ReturnType<typeof networkInterfaces>

/**
 * The addresses the zone's NS target (`ns.dns.<zone>`) resolves to: the server's own.
 * A specific listen address is one; a wildcard (0.0.0.0, ::) stands for every address
 * of the host in its family, less loopback and IPv6 link-local ones (useless to anyone
 * else), or loopback when the host has nothing more.
 */
export function ownAddresses(listen: readonly HostPort[], interfaces: Interfaces = networkInterfaces()): string[] {
  const out = new Set<string>()
  const all = Object.values(interfaces).flatMap((list) => list ?? [])
  for (const {host} of listen) {
    const family = isIP(host)
    const wildcard = host === '0.0.0.0' || host === '::'
    if (!wildcard) {
      out.add(host)
      continue
    }
    const ofFamily = all.filter((a) => (family === 4 ? a.family === 'IPv4' : a.family === 'IPv6'))
    const usable = ofFamily.filter((a) => !a.internal && !a.address.toLowerCase().startsWith('fe80:'))
    for (const a of usable.length ? usable : ofFamily.filter((x) => x.internal)) out.add(a.address)
  }
  return [...out]
}
