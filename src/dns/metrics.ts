import {Counter, Gauge, Histogram, Registry} from 'prom-client'

/** CoreDNS-style metrics, named cnet_dns_*. */
export class DnsMetrics {
  readonly registry = new Registry()
  private readonly requests: Counter
  private readonly responses: Counter
  private readonly duration: Histogram
  readonly cacheHits: Counter
  readonly cacheMisses: Counter
  readonly cacheEntries: Gauge
  readonly upstreamErrors: Counter

  /** `beforeCollect` runs first on every scrape: the caches count plain numbers on the hot path and catch the counters up then. */
  constructor(private readonly server: string, private readonly zone: string, beforeCollect?: () => void) {
    const registers = [this.registry]
    // The first metric registered is the first collected, so its collect hook runs before any other is read.
    this.requests = new Counter({name: 'cnet_dns_requests_total', help: 'Queries received', labelNames: ['server', 'zone', 'proto', 'family', 'type'], registers, collect: beforeCollect})
    this.responses = new Counter({name: 'cnet_dns_responses_total', help: 'Replies sent by rcode', labelNames: ['server', 'zone', 'rcode'], registers})
    this.duration = new Histogram({
      name: 'cnet_dns_request_duration_seconds',
      help: 'Time to answer',
      labelNames: ['server', 'zone'],
      buckets: [0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048],
      registers,
    })
    this.cacheHits = new Counter({name: 'cnet_dns_cache_hits_total', help: 'Answers served from a cache', registers})
    this.cacheMisses = new Counter({name: 'cnet_dns_cache_misses_total', help: 'Answers built or forwarded', registers})
    this.cacheEntries = new Gauge({name: 'cnet_dns_cache_entries', help: 'Entries in the caches', registers})
    this.upstreamErrors = new Counter({name: 'cnet_dns_forward_upstream_errors_total', help: 'Failed exchanges with upstreams', registers})
  }

  // label children looked up once per label set: hashing labels on every query costs throughput
  private readonly requestChildren = new Map<string, {inc(): void}>()
  private readonly responseChildren = new Map<string, {inc(): void}>()
  private durationChild?: {observe(value: number): void}

  observe(proto: string, family: string, type: string, rcode: string, seconds: number): void {
    const requestKey = `${proto}|${family}|${type}`
    let request = this.requestChildren.get(requestKey)
    if (!request) this.requestChildren.set(requestKey, (request = this.requests.labels(this.server, this.zone, proto, family, type)))
    request.inc()
    let response = this.responseChildren.get(rcode)
    if (!response) this.responseChildren.set(rcode, (response = this.responses.labels(this.server, this.zone, rcode)))
    response.inc()
    this.durationChild ??= this.duration.labels(this.server, this.zone)
    this.durationChild.observe(seconds)
  }
}
