import {readFileSync} from 'node:fs'
import {type HostPort, parseHostPort} from '../lib/listen-address.js'

/**
 * The nameservers of resolv.conf, port 53, minus this server's own listen addresses: a
 * server that forwarded to itself would loop (CoreDNS's known failure). Empty when the
 * file cannot be read.
 */
export function upstreamsFromResolvConf(ownAddresses: string[], path = '/etc/resolv.conf'): HostPort[] {
  let text = ''
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return []
  }
  const out: HostPort[] = []
  for (const line of text.split('\n')) {
    const [keyword, address] = line.trim().split(/\s+/)
    if (keyword !== 'nameserver' || !address || ownAddresses.includes(address)) continue
    const parsed = parseHostPort(address.split('%')[0]!, 53)
    if (parsed) out.push(parsed)
  }
  return out
}
