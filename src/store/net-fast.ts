/**
 * node:net for the bundled gRPC client, with isIPv6 and isIP answering for a dotted
 * quad without Node's IPv6 regular expression. gRPC asks isIPv6 of every endpoint's host
 * when it connects (its pick-first balancer), and the first use of that expression
 * compiles it: 16-40 ms of every CLI call's start on this machine, for "127.0.0.1".
 * An IPv6 address always has a colon, so without one the answer is known; with one,
 * Node decides as before. `npm run build` aliases `net` to this file in the bundle.
 */
import * as net from 'node:net'

export * from 'node:net'

export function isIPv6(input: string): boolean {
  return typeof input === 'string' && input.includes(':') && net.isIPv6(input)
}

export function isIP(input: string): number {
  if (typeof input === 'string' && !input.includes(':')) return net.isIPv4(input) ? 4 : 0
  return net.isIP(input)
}
