import {randomInt} from 'node:crypto'
import dgram from 'node:dgram'
import {isIP} from 'node:net'

/**
 * The forwarder's UDP sockets: a few per address family, shared by every query in
 * flight and told apart by the id cnet chose and the question. Bounded: at most `size`
 * sockets take new queries; one that has carried `maxUses` queries or lived `maxAgeMs`
 * is retired (closed once its last answer is in) and a new one, on a new random port,
 * takes its place, so an off-path guesser faces a moving port as well as a random id.
 */
export interface UdpPoolOptions {
  size: number
  maxUses: number
  maxAgeMs: number
}

export const DEFAULT_UDP_POOL: UdpPoolOptions = {size: 4, maxUses: 2000, maxAgeMs: 30_000}

export class UpstreamTimeoutError extends Error {
  constructor(readonly upstream: string, ms: number) {
    super(`dns/forward: no answer from ${upstream} within ${ms} ms`)
  }
}

interface Pending {
  host: string
  port: number
  question: Buffer
  resolve(reply: Buffer): void
  reject(error: Error): void
  timer: NodeJS.Timeout
}

interface PooledSocket {
  socket: dgram.Socket
  pending: Map<number, Pending>
  uses: number
  bornAt: number
  retired: boolean
}

type LookupCallback = (error: Error | null, address: string, family: number) => void
// Every address here is an IP literal: resolving it through dns.lookup costs a tick per send.
const literal = (family: 4 | 6) => (address: string, _options: unknown, callback: LookupCallback) => callback(null, address, family)

export class UdpPool {
  private readonly active: Record<4 | 6, PooledSocket[]> = {4: [], 6: []}
  private readonly retiring = new Set<PooledSocket>()
  private turn = 0
  private closed = false

  constructor(private readonly options: UdpPoolOptions = DEFAULT_UDP_POOL, private readonly now: () => number = Date.now) {}

  /** Sockets open now (taking queries or finishing their last ones). */
  get openSockets(): number {
    return this.active[4].length + this.active[6].length + this.retiring.size
  }

  /**
   * Sends `request` (its id is replaced by one of the pool's) to host:port and resolves
   * with the first reply from that address and port carrying that id and the same
   * question; rejects after `timeoutMs`.
   */
  exchange(request: Buffer, host: string, port: number, timeoutMs: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error('dns/forward: closed'))
    const family = isIP(host) === 6 ? 6 : 4
    const pooled = this.pick(family)
    let id = randomInt(0x10000)
    while (pooled.pending.has(id)) id = randomInt(0x10000)
    const outgoing = Buffer.from(request)
    outgoing.writeUInt16BE(id, 0)
    pooled.uses++
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        pooled.pending.delete(id)
        this.settle(pooled)
        reject(new UpstreamTimeoutError(family === 6 ? `[${host}]:${port}` : `${host}:${port}`, timeoutMs))
      }, timeoutMs)
      pooled.pending.set(id, {host, port, question: questionOf(outgoing), resolve, reject, timer})
      pooled.socket.send(outgoing, port, host, (error) => {
        if (!error) return
        const entry = pooled.pending.get(id)
        if (!entry) return
        clearTimeout(entry.timer)
        pooled.pending.delete(id)
        this.settle(pooled)
        reject(error)
      })
      if (pooled.uses >= this.options.maxUses || this.now() - pooled.bornAt >= this.options.maxAgeMs) this.retire(pooled)
    })
  }

  /** Closes every socket; queries in flight fail. */
  close(): void {
    this.closed = true
    for (const pooled of [...this.active[4], ...this.active[6], ...this.retiring]) this.destroy(pooled, new Error('dns/forward: closed'))
  }

  private pick(family: 4 | 6): PooledSocket {
    const list = this.active[family]
    if (list.length < this.options.size) {
      const pooled = this.open(family)
      list.push(pooled)
      return pooled
    }
    return list[this.turn++ % list.length]!
  }

  private open(family: 4 | 6): PooledSocket {
    const socket = dgram.createSocket({type: family === 6 ? 'udp6' : 'udp4', lookup: literal(family)})
    const pooled: PooledSocket = {socket, pending: new Map(), uses: 0, bornAt: this.now(), retired: false}
    socket.on('message', (message, remote) => {
      if (message.length < 12) return
      const entry = pooled.pending.get(message.readUInt16BE(0))
      // only the upstream's answer to this question: same address, port, id and question
      if (!entry || remote.port !== entry.port || remote.address !== entry.host) return
      if (message.length < 12 + entry.question.length || !message.subarray(12, 12 + entry.question.length).equals(entry.question)) return
      clearTimeout(entry.timer)
      pooled.pending.delete(message.readUInt16BE(0))
      entry.resolve(message)
      this.settle(pooled)
    })
    socket.on('error', (error) => this.destroy(pooled, error))
    // not yet bound: an unref'd socket must not keep a stopping process alive
    socket.unref()
    return pooled
  }

  private retire(pooled: PooledSocket): void {
    if (pooled.retired) return
    pooled.retired = true
    for (const family of [4, 6] as const) {
      const at = this.active[family].indexOf(pooled)
      if (at >= 0) this.active[family].splice(at, 1)
    }
    this.retiring.add(pooled)
    this.settle(pooled)
  }

  /** A retired socket with nothing pending is closed. */
  private settle(pooled: PooledSocket): void {
    if (pooled.retired && pooled.pending.size === 0 && this.retiring.delete(pooled)) pooled.socket.close()
  }

  private destroy(pooled: PooledSocket, error: Error): void {
    for (const entry of pooled.pending.values()) {
      clearTimeout(entry.timer)
      entry.reject(error)
    }
    pooled.pending.clear()
    for (const family of [4, 6] as const) {
      const at = this.active[family].indexOf(pooled)
      if (at >= 0) this.active[family].splice(at, 1)
    }
    this.retiring.delete(pooled)
    try {
      pooled.socket.close()
    } catch {
      // already closed
    }
  }
}

/** The question section of a request (12 bytes in, through type and class). */
export function questionOf(request: Buffer): Buffer {
  let offset = 12
  while (offset < request.length && request[offset] !== 0) offset += 1 + request[offset]!
  return request.subarray(12, Math.min(request.length, offset + 5))
}
