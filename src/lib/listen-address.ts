import {isIP} from 'node:net'

/** An address to listen on or connect to: an IP literal and a port. */
export interface HostPort {
  host: string
  port: number
}

/**
 * "127.0.0.1:9100", "[::1]:9100", or a bare address when `defaultPort` is given
 * ("10.0.0.2" -> port 53). Undefined when it is not one: the caller names the field.
 */
export function parseHostPort(text: string, defaultPort?: number): HostPort | undefined {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text)
  let host: string
  let portText: string | undefined
  if (bracket) [host, portText] = [bracket[1]!, bracket[2]]
  else if (isIP(text) === 6) [host, portText] = [text, undefined]
  else [host, portText] = text.split(':') as [string, string | undefined]
  if (!host || isIP(host) === 0) return undefined
  if (portText === undefined) return defaultPort === undefined ? undefined : {host, port: defaultPort}
  if (!/^\d{1,5}$/.test(portText)) return undefined
  const port = Number(portText)
  return port > 0 && port < 65536 ? {host, port} : undefined
}

/** "127.0.0.1:9100" / "[::1]:9100", for messages. */
export const formatHostPort = (address: HostPort): string => (address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`)
