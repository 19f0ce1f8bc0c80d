import dgram from 'node:dgram'
import net from 'node:net'
import {CnetError} from '../lib/errors.js'
import {type HostPort, formatHostPort} from '../lib/listen-address.js'
import type {Logger} from '../lib/log.js'
import {type HandlerDeps, handleQuery} from './handler.js'
import {ReplyBatch} from './reply-batch.js'

const SOCKET_BUFFER_BYTES = 4 << 20
const TCP_IDLE_MS = 10_000

type LookupCallback = (error: Error | null, address: string, family: number) => void
const literalLookup4 = (address: string, _options: unknown, callback: LookupCallback) => callback(null, address, 4)
const literalLookup6 = (address: string, _options: unknown, callback: LookupCallback) => callback(null, address, 6)

/**
 * UDP and TCP on one address, answering with whatever `deps()` gives now: a reload
 * swaps what queries are answered from without touching a socket, so none is dropped.
 * Returns the closers of both sockets.
 */
export async function listenOn(address: HostPort, deps: () => HandlerDeps, logger: Logger): Promise<(() => Promise<void>)[]> {
  const family = net.isIPv6(address.host) ? 'udp6' : 'udp4'
  const udp = dgram.createSocket({
    type: family,
    ipv6Only: family === 'udp6',
    // Every address this socket sees is an IP literal (listen addresses are parsed as such, replies
    // go where queries came from): resolving them through dns.lookup cost a tick per reply.
    lookup: family === 'udp6' ? literalLookup6 : literalLookup4,
    // Room for bursts (the kernel caps this at net.core.rmem_max): a full receive buffer
    // drops queries, which clients see as timeouts.
    recvBufferSize: SOCKET_BUFFER_BYTES,
    sendBufferSize: SOCKET_BUFFER_BYTES,
  })
  const outbox = new ReplyBatch(udp)
  udp.on('message', (message, remote) => {
    if (remote.port === 0) return // nothing can be sent back to port 0
    const reply = handleQuery(deps(), message, 'udp', remote)
    if (reply instanceof Promise)
      reply.then(
        (out) => {
          if (out) outbox.send(out, remote.port, remote.address)
        },
        (error: Error) => logger.warn('query failed', {error: error.message}),
      )
    else if (reply) outbox.send(reply, remote.port, remote.address)
  })
  await bind(address, (done) => {
    udp.once('error', done)
    udp.bind(address.port, address.host, () => done())
  })
  udp.on('error', (error) => logger.warn('udp socket error', {error: error.message}))

  const tcp = net.createServer((socket) => {
    let data = Buffer.alloc(0)
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy())
    socket.on('error', () => socket.destroy())
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk])
      while (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
        const message = data.subarray(2, 2 + data.readUInt16BE(0))
        data = data.subarray(2 + message.length)
        Promise.resolve(handleQuery(deps(), message, 'tcp', {address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0, family: socket.remoteFamily ?? 'IPv4'})).then(
          (reply) => {
            if (!reply) return void socket.destroy()
            const length = Buffer.alloc(2)
            length.writeUInt16BE(reply.length)
            socket.write(Buffer.concat([length, reply]))
          },
          () => socket.destroy(),
        )
      }
      if (data.length > 70_000) socket.destroy()
    })
  })
  await bind(address, (done) => {
    tcp.once('error', done)
    tcp.listen({port: address.port, host: address.host, ipv6Only: net.isIPv6(address.host)}, () => done())
  })
  return [
    () =>
      new Promise<void>((resolve) => {
        outbox.close()
        udp.close(() => resolve())
      }),
    () => new Promise<void>((resolve) => tcp.close(() => resolve())),
  ]
}

/** Binds, turning the errors an operator causes into one-line CnetErrors (exit 1). */
async function bind(address: HostPort, attempt: (done: (error?: Error) => void) => void): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => attempt((error) => (error ? reject(error) : resolve())))
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const where = formatHostPort(address)
    if (code === 'EACCES') throw new CnetError(`dns: cannot listen on ${where}: port ${address.port} needs root`, undefined, 'or listen on a port above 1023, such as 127.0.0.1:5353')
    if (code === 'EADDRINUSE') throw new CnetError(`dns: cannot listen on ${where}: address already in use`)
    if (code === 'EADDRNOTAVAIL') throw new CnetError(`dns: cannot listen on ${where}: no such local address`)
    throw new CnetError(`dns: cannot listen on ${where}: ${code ?? (error as Error).message}`)
  }
}
