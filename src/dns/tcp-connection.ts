import {randomInt} from 'node:crypto'
import net from 'node:net'
import {UpstreamTimeoutError, questionOf} from './udp-pool.js'

/**
 * One TCP connection to an upstream, opened on first use and kept for the next queries
 * (RFC 7766: several queries in flight on one connection, answers matched by id, in any
 * order). Closed after `idleMs` with nothing in flight; reopened when needed. When the
 * upstream closes it under queries in flight, those fail and the caller tries elsewhere.
 */
export class TcpConnection {
  private socket: net.Socket | undefined
  private readonly pending = new Map<number, {question: Buffer; resolve(reply: Buffer): void; reject(error: Error): void; timer: NodeJS.Timeout}>()
  private buffered: Buffer = Buffer.alloc(0)
  private idleTimer: NodeJS.Timeout | undefined
  /** Connections opened so far: reuse shows as fewer of these than queries. */
  opened = 0

  constructor(private readonly host: string, private readonly port: number, private readonly idleMs = 10_000) {}

  exchange(request: Buffer, timeoutMs: number): Promise<Buffer> {
    const socket = this.connect()
    let id = randomInt(0x10000)
    while (this.pending.has(id)) id = randomInt(0x10000)
    const outgoing = Buffer.alloc(2 + request.length)
    outgoing.writeUInt16BE(request.length, 0)
    request.copy(outgoing, 2)
    outgoing.writeUInt16BE(id, 2)
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        this.idleIfDone()
        reject(new UpstreamTimeoutError(`${this.host}:${this.port} (tcp)`, timeoutMs))
      }, timeoutMs)
      this.pending.set(id, {question: questionOf(outgoing.subarray(2)), resolve, reject, timer})
      socket.write(outgoing)
    })
  }

  close(): void {
    this.fail(new Error('dns/forward: closed'))
    this.socket?.destroy()
    this.socket = undefined
  }

  private connect(): net.Socket {
    if (this.idleTimer) clearTimeout(this.idleTimer)
    this.idleTimer = undefined
    if (this.socket) return this.socket
    const socket = net.connect({host: this.host, port: this.port})
    this.opened++
    this.socket = socket
    this.buffered = Buffer.alloc(0)
    socket.setNoDelay(true)
    socket.on('data', (chunk) => this.receive(chunk))
    const gone = (error?: Error) => {
      if (this.socket !== socket) return
      this.socket = undefined
      this.fail(error ?? new Error(`dns/forward: ${this.host}:${this.port} closed the connection`))
    }
    socket.on('error', gone)
    socket.on('close', () => gone())
    return socket
  }

  private receive(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk
    while (this.buffered.length >= 2) {
      const length = this.buffered.readUInt16BE(0)
      if (this.buffered.length < 2 + length) break
      const message = Buffer.from(this.buffered.subarray(2, 2 + length))
      this.buffered = this.buffered.subarray(2 + length)
      if (message.length < 12) continue
      const entry = this.pending.get(message.readUInt16BE(0))
      if (!entry || !message.subarray(12, 12 + entry.question.length).equals(entry.question)) continue
      clearTimeout(entry.timer)
      this.pending.delete(message.readUInt16BE(0))
      entry.resolve(message)
    }
    this.idleIfDone()
  }

  private idleIfDone(): void {
    if (this.pending.size || !this.socket || this.idleTimer) return
    const socket = this.socket
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined
      if (this.socket === socket && !this.pending.size) {
        this.socket = undefined
        socket.end()
      }
    }, this.idleMs)
    this.idleTimer.unref()
  }

  private fail(error: Error): void {
    for (const entry of this.pending.values()) {
      clearTimeout(entry.timer)
      entry.reject(error)
    }
    this.pending.clear()
  }
}
