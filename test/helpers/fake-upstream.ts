import dgram from 'node:dgram'
import net from 'node:net'
import * as packet from 'dns-packet'

/**
 * An upstream resolver in this process, on loopback UDP and TCP: answers A questions
 * with `address` (or stays silent, or truncates over UDP), and counts what it saw.
 */
export interface FakeUpstream {
  port: number
  address: string
  /** Silent: queries are read and never answered (a dead resolver that still holds its port). */
  silent: boolean
  /** Over UDP, answer with TC and no records, so the client retries over TCP. */
  truncate: boolean
  udpQueries: number
  tcpQueries: number
  tcpConnections: number
  /** Source ports the UDP queries came from. */
  sourcePorts: Set<number>
  /** The name of every UDP question, in order ('' for the root: health probes). */
  names: string[]
  close(): Promise<void>
}

export async function startFakeUpstream(address = '192.0.2.1'): Promise<FakeUpstream> {
  const udp = dgram.createSocket({type: 'udp4', recvBufferSize: 1 << 20})
  const tcp = net.createServer()
  const sockets = new Set<net.Socket>()
  const state: FakeUpstream = {
    port: 0,
    address,
    silent: false,
    truncate: false,
    udpQueries: 0,
    tcpQueries: 0,
    tcpConnections: 0,
    sourcePorts: new Set(),
    names: [],
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => udp.close(() => resolve()))
      await new Promise<void>((resolve) => tcp.close(() => resolve()))
    },
  }
  const answer = (request: Buffer, truncated: boolean): Buffer => {
    const query = packet.decode(request)
    const q = query.questions?.[0]
    return packet.encode({
      id: query.id,
      type: 'response',
      flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | (truncated ? packet.TRUNCATED_RESPONSE : 0),
      questions: query.questions,
      answers: truncated || !q || q.type !== 'A' ? [] : [{name: q.name, type: 'A', ttl: 60, data: state.address}],
    })
  }
  udp.on('message', (message, remote) => {
    state.udpQueries++
    state.sourcePorts.add(remote.port)
    const name = packet.decode(message).questions?.[0]?.name ?? ''
    state.names.push(name === '.' ? '' : name)
    if (!state.silent) udp.send(answer(message, state.truncate), remote.port, remote.address)
  })
  tcp.on('connection', (socket) => {
    state.tcpConnections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    let buffered = Buffer.alloc(0)
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk])
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const message = buffered.subarray(2, 2 + buffered.readUInt16BE(0))
        buffered = buffered.subarray(2 + message.length)
        state.tcpQueries++
        if (state.silent) continue
        const reply = answer(message, false)
        const length = Buffer.alloc(2)
        length.writeUInt16BE(reply.length)
        socket.write(Buffer.concat([length, reply]))
      }
    })
  })
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()))
  state.port = udp.address().port
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject)
    tcp.listen(state.port, '127.0.0.1', () => resolve())
  })
  return state
}
