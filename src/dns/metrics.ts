import {Counter, Gauge, Registry} from 'prom-client'

/**
 * CoreDNS-style metrics, named cnet_dns_*. The hot path only adds to plain numbers;
 * they reach prom-client when it collects (a prom-client call validates and hashes its
 * labels every time, which cost more than answering the query).
 */
export class DnsMetrics {
  readonly registry = new Registry()
  private readonly requests: Counter
  private readonly responses: Counter
  private readonly duration: RequestDurations
  readonly cacheHits: Counter
  readonly cacheMisses: Counter
  readonly cacheEntries: Gauge
  readonly upstreamErrors: Counter
  /** Counts since the last scrape, by requestSlot(...) and by rcode. */
  private readonly pendingRequests = new Map<number, number>()
  private readonly pendingResponses = new Map<number, number>()

  /** `beforeCollect` runs first on every scrape, for other counters kept as plain numbers. */
  constructor(private readonly server: string, private readonly zone: string, beforeCollect?: () => void) {
    const registers = [this.registry]
    // The first metric registered is the first collected, so its hook flushes before any other is read.
    this.requests = new Counter({
      name: 'cnet_dns_requests_total',
      help: 'Queries received',
      labelNames: ['server', 'zone', 'proto', 'family', 'type'],
      registers,
      collect: () => {
        this.flush()
        beforeCollect?.()
      },
    })
    this.responses = new Counter({name: 'cnet_dns_responses_total', help: 'Replies sent by rcode', labelNames: ['server', 'zone', 'rcode'], registers})
    this.duration = new RequestDurations('cnet_dns_request_duration_seconds', 'Time to answer', {server, zone})
    this.registry.registerMetric(this.duration as never)
    this.cacheHits = new Counter({name: 'cnet_dns_cache_hits_total', help: 'Answers served from a cache', registers})
    this.cacheMisses = new Counter({name: 'cnet_dns_cache_misses_total', help: 'Answers built or forwarded', registers})
    this.cacheEntries = new Gauge({name: 'cnet_dns_cache_entries', help: 'Entries in the caches', registers})
    this.upstreamErrors = new Counter({name: 'cnet_dns_forward_upstream_errors_total', help: 'Failed exchanges with upstreams', registers})
  }

  observe(proto: 'udp' | 'tcp', ipv6: boolean, type: number, rcode: number, seconds: number): void {
    const slot = (type << 2) | (proto === 'tcp' ? 2 : 0) | (ipv6 ? 1 : 0)
    this.pendingRequests.set(slot, (this.pendingRequests.get(slot) ?? 0) + 1)
    this.pendingResponses.set(rcode, (this.pendingResponses.get(rcode) ?? 0) + 1)
    this.duration.observe(seconds)
  }

  private flush(): void {
    for (const [slot, count] of this.pendingRequests) {
      this.requests.labels(this.server, this.zone, slot & 2 ? 'tcp' : 'udp', slot & 1 ? '2' : '1', typeLabel(slot >> 2)).inc(count)
    }
    this.pendingRequests.clear()
    for (const [rcode, count] of this.pendingResponses) this.responses.labels(this.server, this.zone, rcodeLabel(rcode)).inc(count)
    this.pendingResponses.clear()
  }
}

const TYPE_LABELS: Record<number, string> = {1: 'A', 2: 'NS', 6: 'SOA', 12: 'PTR', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 255: 'ANY'}
const RCODE_LABELS: Record<number, string> = {0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 16: 'BADVERS'}

/** The type label CoreDNS uses: common types by name, the rest as "other". */
export function typeLabel(type: number): string {
  return TYPE_LABELS[type] ?? 'other'
}

export function rcodeLabel(rcode: number): string {
  return RCODE_LABELS[rcode] ?? String(rcode)
}

const BUCKETS = [0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048]

/** A histogram with fixed labels, exported in prom-client's format (so workers' copies add up). */
class RequestDurations {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  private readonly counts = new Float64Array(BUCKETS.length + 1)
  private sum = 0

  constructor(readonly name: string, readonly help: string, private readonly labels: Record<string, string>) {}

  observe(seconds: number): void {
    let i = 0
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++
    this.counts[i]!++
    this.sum += seconds
  }

  async get() {
    let cumulative = 0
    const values = BUCKETS.map((le, i) => {
      cumulative += this.counts[i]!
      return {labels: {...this.labels, le}, value: cumulative, metricName: `${this.name}_bucket`}
    })
    const count = cumulative + this.counts[BUCKETS.length]!
    values.push({labels: {...this.labels, le: '+Inf' as unknown as number}, value: count, metricName: `${this.name}_bucket`})
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: [...values, {labels: {...this.labels}, value: this.sum, metricName: `${this.name}_sum`}, {labels: {...this.labels}, value: count, metricName: `${this.name}_count`}],
    }
  }
}
