/**
 * The runtime's floor for bench:dns: a UDP server on this Node that does no DNS work at
 * all. Each datagram goes back to its sender as it came, with the QR (response) bit set,
 * which dnsperf counts as an answer. It runs as cnet's dns serve does: one process per
 * worker sharing the socket through node:cluster, replies sent in a burst after the
 * datagrams that arrived together (src/dns/reply-batch.ts), IP literals not resolved.
 * What it reaches is the most any server written on this runtime could.
 *
 * Usage: tsx bench/lib/udp-floor-server.ts PORT WORKERS
 */
import cluster from 'node:cluster'
import dgram from 'node:dgram'

const [port, workers] = process.argv.slice(2).map(Number)

if (cluster.isPrimary && workers! > 1) {
  let listening = 0
  for (let i = 0; i < workers!; i++) cluster.fork().on('message', () => ++listening === workers && console.log('listening'))
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill()
    process.exit(0)
  })
} else {
  const socket = dgram.createSocket({type: 'udp4', lookup: (address, _options, callback) => callback(null, address, 4)})
  const held: [Buffer, number, string][] = []
  let scheduled = false
  const flush = () => {
    scheduled = false
    for (const [message, to, address] of held) socket.send(message, to, address)
    held.length = 0
  }
  socket.on('message', (message, remote) => {
    if (message.length < 12) return
    message[2]! |= 0x80
    held.push([message, remote.port, remote.address])
    if (!scheduled) {
      scheduled = true
      setImmediate(flush)
    }
  })
  socket.bind(port, '127.0.0.1', () => (cluster.isWorker ? process.send?.('listening') : console.log('listening')))
  process.on('SIGTERM', () => process.exit(0))
}
