import {readFileSync} from 'node:fs'
import {createSocket} from 'node:dgram'
import {createServer} from 'node:net'

/**
 * Test ports come from below the kernel's ephemeral range. A port the kernel picks
 * (listen on 0) is an ephemeral one, and a test that stops a server and starts it
 * again on the same port (an etcd outage, a restart) can find it taken meanwhile by
 * some client's outgoing connection: "bind: address already in use". Below the
 * range, only a listener can hold a port.
 */
const WINDOW = 9_000

/** Each jest worker scans its own slice, so two workers never race for one port. */
const SLICE = 1_000

let cursor: number | undefined
let windowLow = 0
let windowHigh = 0

function ephemeralLow(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)
    return Number(low)
  } catch {
    return 32_768
  }
}

function startCursor(): number {
  const low = ephemeralLow()
  windowHigh = low - 1
  windowLow = Math.max(1_024, windowHigh - WINDOW)
  const worker = Number(process.env.JEST_WORKER_ID ?? 1)
  const slices = Math.max(1, Math.floor((windowHigh - windowLow) / SLICE))
  const sliceStart = windowLow + ((worker - 1) % slices) * SLICE
  // A random start within the slice keeps two test runs at once (or two tiers) apart.
  return sliceStart + Math.floor(Math.random() * SLICE)
}

function nextCandidate(): number {
  cursor ??= startCursor()
  const port = cursor
  cursor = cursor + 1 > windowHigh ? windowLow : cursor + 1
  return port
}

async function tcpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.unref()
    server.once('error', () => resolve(false))
    server.listen(port, host, () => server.close(() => resolve(true)))
  })
}

async function udpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
    socket.unref()
    socket.once('error', () => {
      socket.close()
      resolve(false)
    })
    socket.bind(port, host, () => socket.close(() => resolve(true)))
  })
}

/**
 * A port free on `host` for both TCP and UDP right now, outside the ephemeral range,
 * never the same twice in one process (a caller may take two before binding either).
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let tries = 0; tries < WINDOW; tries++) {
    const port = nextCandidate()
    if ((await tcpFree(port, host)) && (await udpFree(port, host))) return port
  }
  throw new Error(`no free port on ${host} between ${windowLow} and ${windowHigh}`)
}
