import {randomInt} from 'node:crypto'
import dgram from 'node:dgram'
import {readFileSync} from 'node:fs'
import net from 'node:net'
import * as packet from 'dns-packet'
import {type Cidr, cidrContainsIp, parseCidr, parseIp} from '../net/ip.js'
import {ForwardCache} from './cache.js'
import type {Query} from './wire.js'

export interface ForwarderOptions {
  upstreams: string[]
  timeoutMs: number
  maxConcurrent: number
  allowRecursion: Cidr[]
}

/** Upstreams from resolv.conf, skipping our own listen addresses (we must not forward to ourselves). */
export function upstreamsFromResolvConf(ownAddresses: string[], path = '/etc/resolv.conf'): string[] {
  let text = ''
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return []
  }
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((words) => words[0] === 'nameserver' && words[1] && !ownAddresses.includes(words[1]))
    .map((words) => `${words[1]}:53`)
}

export function parseHostPort(text: string, defaultPort: number): {host: string; port: number} | undefined {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text)
  if (bracket) return parseIp(bracket[1]!) ? {host: bracket[1]!, port: bracket[2] ? Number(bracket[2]) : defaultPort} : undefined
  if (parseIp(text)?.family === 6) return {host: text, port: defaultPort}
  const [host, port] = text.split(':')
  if (!host || !parseIp(host)) return undefined
  const n = port === undefined ? defaultPort : Number(port)
  return Number.isInteger(n) && n > 0 && n < 65536 ? {host, port: n} : undefined
}

export function parseCidrList(texts: string[]): Cidr[] | undefined {
  const out: Cidr[] = []
  for (const text of texts) {
    const cidr = parseCidr(text.includes('/') ? text : `${text}/${text.includes(':') ? 128 : 32}`)
    if (!cidr) return undefined
    out.push(cidr)
  }
  return out
}

/**
 * Forwards names outside the zone: UDP, TCP retry on TC, failover over upstreams,
 * a cache with serve-stale, a cap on queries in flight, and recursion only for
 * allowed clients.
 */
export class Forwarder {
  readonly cache = new ForwardCache()
  inFlight = 0
  upstreamErrors = 0
  private readonly upstreams: {host: string; port: number; failures: number}[]

  constructor(private readonly options: ForwarderOptions) {
    this.upstreams = options.upstreams.map((text) => ({...parseHostPort(text, 53)!, failures: 0}))
  }

  private readonly verdicts = new Map<string, boolean>()

  allowed(clientAddress: string): boolean {
    let verdict = this.verdicts.get(clientAddress)
    if (verdict === undefined) {
      const ip = parseIp(clientAddress.replace(/^::ffff:/, ''))
      verdict = ip !== undefined && this.options.allowRecursion.some((cidr) => cidrContainsIp(cidr, ip))
      if (this.verdicts.size > 10_000) this.verdicts.clear()
      this.verdicts.set(clientAddress, verdict)
    }
    return verdict
  }

  /** The upstream's answer (id not yet patched), or undefined: SERVFAIL / REFUSED decided by the caller. */
  forward(request: Buffer, query: Query): Promise<{reply?: Buffer; refused?: boolean}> {
    const key = `${query.name}|${query.type}|${query.klass}|${query.edns?.dnssecOk ? 1 : 0}`
    // the caller has already missed the cache (cached())
    return this.exchange(request, key)
  }

  /** A fresh cache hit without a promise, for the synchronous fast path. */
  cached(query: Query): Buffer | undefined {
    return this.cache.get(`${query.name}|${query.type}|${query.klass}|${query.edns?.dnssecOk ? 1 : 0}`)
  }

  private async exchange(request: Buffer, key: string): Promise<{reply?: Buffer; refused?: boolean}> {
    if (this.inFlight >= this.options.maxConcurrent) return {refused: true}
    this.inFlight++
    try {
      // A random id of our own, so an off-path guesser cannot ride on the client's.
      const outgoing = Buffer.from(request)
      outgoing.writeUInt16BE(randomInt(0x10000), 0)
      request = outgoing
      const ordered = [...this.upstreams].sort((a, b) => a.failures - b.failures)
      for (const upstream of ordered) {
        try {
          let reply = await udpExchange(request, upstream.host, upstream.port, this.options.timeoutMs)
          if (reply.readUInt16BE(2) & 0x0200) reply = await tcpExchange(request, upstream.host, upstream.port, this.options.timeoutMs)
          upstream.failures = 0
          this.cache.put(key, reply)
          return {reply}
        } catch {
          upstream.failures++
          this.upstreamErrors++
        }
      }
      const stale = this.cache.getStale(key)
      return {reply: stale}
    } finally {
      this.inFlight--
    }
  }
}

/** Where the question section of a request ends (12 when it cannot be read). */
function questionEnd(request: Buffer): number {
  let offset = 12
  while (offset < request.length && request[offset] !== 0) offset += 1 + request[offset]!
  return Math.min(request.length, offset + 5)
}

function udpExchange(request: Buffer, host: string, port: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4')
    const id = request.readUInt16BE(0)
    const timer = setTimeout(() => finish(new Error('timeout')), timeoutMs)
    function finish(error?: Error, reply?: Buffer) {
      clearTimeout(timer)
      socket.close()
      if (error) reject(error)
      else resolve(reply!)
    }
    socket.on('error', (error) => finish(error))
    const question = request.subarray(12, questionEnd(request))
    socket.on('message', (message, remote) => {
      // Only the upstream's answer to this question: same address, port, id and question.
      if (remote.port !== port || remote.address !== host || message.length < 12 + question.length || message.readUInt16BE(0) !== id) return
      if (!message.subarray(12, 12 + question.length).equals(question)) return
      finish(undefined, message)
    })
    socket.send(request, port, host)
  })
}

function tcpExchange(request: Buffer, host: string, port: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({host, port})
    const timer = setTimeout(() => finish(new Error('timeout')), timeoutMs)
    let data = Buffer.alloc(0)
    function finish(error?: Error, reply?: Buffer) {
      clearTimeout(timer)
      socket.destroy()
      if (error) reject(error)
      else resolve(reply!)
    }
    socket.on('error', (error) => finish(error))
    socket.on('connect', () => {
      const length = Buffer.alloc(2)
      length.writeUInt16BE(request.length)
      socket.write(Buffer.concat([length, request]))
    })
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk])
      if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) finish(undefined, data.subarray(2, 2 + data.readUInt16BE(0)))
    })
  })
}

export {packet}
