import {isIP} from 'node:net'

/**
 * Addresses and CIDRs as plain values: an address is a bigint plus its family, so
 * IPv4 and IPv6 share one set of functions. Pure; no I/O.
 */
export type Family = 4 | 6
export interface Ip {
  readonly family: Family
  readonly value: bigint
}
export interface Cidr {
  readonly family: Family
  /** The network address (host bits are zero once normalised). */
  readonly ip: bigint
  readonly prefix: number
}

export const bitsOf = (family: Family): number => (family === 4 ? 32 : 128)

export function parseIp(text: string): Ip | undefined {
  if (!text.includes(':')) {
    const value = ipv4Value(text)
    return value === undefined ? undefined : {family: 4, value: BigInt(value)}
  }
  return isIP(text) === 6 ? {family: 6, value: parseIpv6(text)} : undefined
}

/**
 * A dotted quad as a number, by the grammar of Node's isIP (no leading zeros, no
 * spaces), without its regular expression: a listing parses thousands of these.
 */
export function ipv4Value(text: string): number | undefined {
  let value = 0
  let part = 0
  let digits = 0
  let dots = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x2e) {
      if (digits === 0 || ++dots > 3) return undefined
      value = value * 256 + part
      part = 0
      digits = 0
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && part === 0) return undefined
      part = part * 10 + (c - 0x30)
      if (++digits > 3 || part > 255) return undefined
    } else return undefined
  }
  return dots === 3 && digits > 0 ? value * 256 + part : undefined
}

function parseIpv6(text: string): bigint {
  let body = text.split('%')[0]
  // An embedded IPv4 tail ("::ffff:1.2.3.4") becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(body)
  if (v4) {
    const n = parseIp(v4[1])!.value
    body = body.slice(0, v4.index) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`
  }
  const [head, tail] = body.includes('::') ? body.split('::') : [body, undefined]
  const headGroups = head ? head.split(':') : []
  const tailGroups = tail === undefined ? [] : tail ? tail.split(':') : []
  const missing = 8 - headGroups.length - tailGroups.length
  const groups = [...headGroups, ...Array(tail === undefined ? 0 : missing).fill('0'), ...tailGroups]
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n)
}

export function formatIp(ip: Ip): string {
  if (ip.family === 4) {
    const n = Number(ip.value)
    return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`
  }
  const groups = Array.from({length: 8}, (_, i) => Number((ip.value >> BigInt((7 - i) * 16)) & 0xffffn))
  // RFC 5952: compress the longest run of two or more zero groups, the first on a tie.
  let bestStart = -1
  let bestLen = 0
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (bestStart < 0) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`
}

export const ipString = (family: Family, value: bigint): string => formatIp({family, value})

/** "10.5.0.0/16" -> Cidr. Host bits are kept as given; use normaliseCidr to mask them. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.lastIndexOf('/')
  if (slash < 0) return undefined
  const ip = parseIp(text.slice(0, slash))
  const prefixText = text.slice(slash + 1)
  if (!ip || !/^\d{1,3}$/.test(prefixText)) return undefined
  const prefix = Number(prefixText)
  if (prefix > bitsOf(ip.family)) return undefined
  return {family: ip.family, ip: ip.value, prefix}
}

export function hostMask(family: Family, prefix: number): bigint {
  return (1n << BigInt(bitsOf(family) - prefix)) - 1n
}

export function normaliseCidr(cidr: Cidr): Cidr {
  return {...cidr, ip: cidr.ip & ~hostMask(cidr.family, cidr.prefix)}
}

export function hasHostBits(cidr: Cidr): boolean {
  return (cidr.ip & hostMask(cidr.family, cidr.prefix)) !== 0n
}

export function formatCidr(cidr: Cidr): string {
  return `${ipString(cidr.family, cidr.ip)}/${cidr.prefix}`
}

export function cidrContainsIp(cidr: Cidr, ip: Ip): boolean {
  if (cidr.family !== ip.family) return false
  const mask = ~hostMask(cidr.family, cidr.prefix)
  return (ip.value & mask) === (cidr.ip & mask)
}

/** True when `inner` lies wholly inside `outer`. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && inner.prefix >= outer.prefix && cidrContainsIp(outer, {family: inner.family, value: inner.ip})
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b) || cidrContains(b, a)
}

/** The address `offset` places after the network address. */
export function addressAt(cidr: Cidr, offset: bigint): Ip {
  return {family: cidr.family, value: cidr.ip + offset}
}

export function sameCidr(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.ip === b.ip && a.prefix === b.prefix
}

/** Orders CIDRs numerically: IPv4 before IPv6, then by address, then by prefix length. */
export function compareCidrs(a: Cidr, b: Cidr): number {
  if (a.family !== b.family) return a.family - b.family
  if (a.ip !== b.ip) return a.ip < b.ip ? -1 : 1
  return a.prefix - b.prefix
}
