import {type HostPort, formatHostPort} from '../lib/listen-address.js'
import {formatIp, parseIp} from '../net/ip.js'
import {Histogram} from './histogram.js'
import {TcpConnection} from './tcp-connection.js'
import type {UdpPool} from './udp-pool.js'

/** CoreDNS's forward defaults: probe every 0.5 s after an error; down after 2 failures in a row. */
export interface HealthCheckOptions {
  intervalMs: number
  maxFails: number
  timeoutMs: number
}
export const DEFAULT_HEALTH_CHECK: HealthCheckOptions = {intervalMs: 500, maxFails: 2, timeoutMs: 1000}

/** `. IN NS`, CoreDNS's health probe: any reply means the upstream is there. */
const PROBE = Buffer.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1])

export const FORWARD_DURATION_BUCKETS = [0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192]

/**
 * One upstream resolver: exchanges over the shared UDP pool and its own reused TCP
 * connection (for truncated answers), and its health as CoreDNS's forward plugin keeps
 * it. A failed exchange starts probes every `intervalMs` until one is answered; each
 * failure (the exchange, then every unanswered probe) counts, and with `maxFails` in a
 * row the upstream is down: skipped while another is up, used again once a probe is
 * answered.
 */
export class Upstream {
  /** "host:port", the `to` label of the forward metrics. */
  readonly label: string
  readonly host: string
  readonly port: number
  fails = 0
  private probeTimer: NodeJS.Timeout | undefined
  private stopped = false
  private readonly tcp: TcpConnection
  /** Counted here, flushed into prom-client when scraped. */
  requests = 0
  readonly responses = new Map<number, number>()
  errors = 0
  healthcheckFailures = 0
  readonly durations = new Histogram(FORWARD_DURATION_BUCKETS)

  constructor(address: HostPort, private readonly udp: UdpPool, private readonly health: HealthCheckOptions = DEFAULT_HEALTH_CHECK) {
    const ip = parseIp(address.host)
    this.host = ip ? formatIp(ip) : address.host
    this.port = address.port
    this.label = formatHostPort({host: this.host, port: this.port})
    this.tcp = new TcpConnection(this.host, this.port)
  }

  get down(): boolean {
    return this.fails >= this.health.maxFails
  }

  get probing(): boolean {
    return this.probeTimer !== undefined
  }

  /** TCP connections opened so far (one serves many truncated answers). */
  get tcpConnectionsOpened(): number {
    return this.tcp.opened
  }

  /** The upstream's reply to `request` (UDP, again over TCP when truncated); rejects on no answer. */
  async exchange(request: Buffer, timeoutMs: number): Promise<Buffer> {
    const started = performance.now()
    this.requests++
    try {
      let reply = await this.udp.exchange(request, this.host, this.port, timeoutMs)
      if (reply.readUInt16BE(2) & 0x0200) reply = await this.tcp.exchange(request, timeoutMs)
      this.fails = 0
      const rcode = reply[3]! & 0xf
      this.responses.set(rcode, (this.responses.get(rcode) ?? 0) + 1)
      this.durations.observe((performance.now() - started) / 1000)
      return reply
    } catch (error) {
      this.errors++
      this.failed()
      throw error
    }
  }

  stop(): void {
    this.stopped = true
    if (this.probeTimer) clearTimeout(this.probeTimer)
    this.probeTimer = undefined
    this.tcp.close()
  }

  private failed(): void {
    this.fails++
    if (!this.probeTimer && !this.stopped) this.scheduleProbe(0)
  }

  private scheduleProbe(delayMs: number): void {
    this.probeTimer = setTimeout(() => {
      this.udp.exchange(PROBE, this.host, this.port, this.health.timeoutMs).then(
        () => {
          this.fails = 0
          this.probeTimer = undefined
        },
        () => {
          this.fails++
          this.healthcheckFailures++
          if (!this.stopped) this.scheduleProbe(this.health.intervalMs)
          else this.probeTimer = undefined
        },
      )
    }, delayMs)
    this.probeTimer.unref()
  }
}
