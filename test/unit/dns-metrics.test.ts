import {afterAll, describe, expect, it} from '@jest/globals'
import {Registry} from 'prom-client'
import {DnsMetrics, rcodeLabel, reloadCounter, typeLabel} from '../../src/dns/metrics.js'
import {coreDnsLine, createQueryLog, flagNames, type QueryLogEntry} from '../../src/dns/query-log.js'
import {UdpPool} from '../../src/dns/udp-pool.js'
import {Upstream} from '../../src/dns/upstream.js'
import {createLogger} from '../../src/lib/log.js'

const line = (text: string, name: string) => text.split('\n').find((l) => l.startsWith(name))

describe('DnsMetrics', () => {
  const pool = new UdpPool()
  afterAll(() => pool.close())
  function setup() {
    const upstream = new Upstream({host: '10.0.0.53', port: 53}, pool)
    const cache = {hits: 0, misses: 0, entries: 0}
    const metrics = new DnsMetrics('dns://127.0.0.1:53', ['cluster.local', 'corp.example', '.'], {cache: () => cache, upstreams: () => [upstream], concurrencyRejects: () => 2}, new Registry())
    return {metrics, upstream, cache}
  }

  it('counts plain numbers and hands them to prom-client at scrape, by zone, type, protocol and family', async () => {
    const {metrics, upstream, cache} = setup()
    metrics.observe(0, 0, 0, 1, 0, 0.0001, 60, 120)
    metrics.observe(0, 0, 0, 1, 0, 0.0001, 60, 120)
    metrics.observe(1, 1, 1, 28, 3, 0.003, 70, 600)
    metrics.observe(2, 0, 0, 65, 2, 0.05, 50, 50)
    upstream.requests = 3
    upstream.responses.set(0, 2)
    upstream.errors = 1
    upstream.durations.observe(0.01)
    Object.assign(cache, {hits: 5, misses: 2, entries: 7})
    const text = await metrics.registry.metrics()
    expect(text).toContain('cnet_dns_requests_total{server="dns://127.0.0.1:53",zone="cluster.local",proto="udp",family="1",type="A"} 2')
    expect(text).toContain('cnet_dns_requests_total{server="dns://127.0.0.1:53",zone="corp.example",proto="tcp",family="2",type="AAAA"} 1')
    expect(text).toContain('cnet_dns_requests_total{server="dns://127.0.0.1:53",zone=".",proto="udp",family="1",type="HTTPS"} 1')
    expect(text).toContain('cnet_dns_responses_total{server="dns://127.0.0.1:53",zone="cluster.local",rcode="NOERROR"} 2')
    expect(text).toContain('cnet_dns_responses_total{server="dns://127.0.0.1:53",zone="corp.example",rcode="NXDOMAIN"} 1')
    expect(text).toContain('cnet_dns_responses_total{server="dns://127.0.0.1:53",zone=".",rcode="SERVFAIL"} 1')
    expect(text).toContain('cnet_dns_request_duration_seconds_bucket{server="dns://127.0.0.1:53",zone="cluster.local",le="0.00025"} 2')
    expect(text).toContain('cnet_dns_request_duration_seconds_count{server="dns://127.0.0.1:53",zone="corp.example"} 1')
    expect(text).toContain('cnet_dns_request_size_bytes_bucket{server="dns://127.0.0.1:53",zone="cluster.local",proto="udp",le="100"} 2')
    expect(text).toContain('cnet_dns_response_size_bytes_bucket{server="dns://127.0.0.1:53",zone="corp.example",proto="tcp",le="511"} 0')
    expect(text).toContain('cnet_dns_response_size_bytes_bucket{server="dns://127.0.0.1:53",zone="corp.example",proto="tcp",le="1023"} 1')
    expect(text).toContain('cnet_dns_response_size_bytes_sum{server="dns://127.0.0.1:53",zone="corp.example",proto="tcp"} 600')
    expect(line(text, 'cnet_dns_cache_hits_total')).toBe('cnet_dns_cache_hits_total 5')
    expect(line(text, 'cnet_dns_cache_misses_total')).toBe('cnet_dns_cache_misses_total 2')
    expect(line(text, 'cnet_dns_cache_entries')).toBe('cnet_dns_cache_entries 7')
    expect(text).toContain('cnet_dns_forward_requests_total{to="10.0.0.53:53"} 3')
    expect(text).toContain('cnet_dns_forward_responses_total{to="10.0.0.53:53",rcode="NOERROR"} 2')
    expect(text).toContain('cnet_dns_forward_upstream_errors_total{to="10.0.0.53:53"} 1')
    expect(text).toContain('cnet_dns_forward_request_duration_seconds_count{to="10.0.0.53:53"} 1')
    expect(line(text, 'cnet_dns_forward_max_concurrent_rejects_total')).toBe('cnet_dns_forward_max_concurrent_rejects_total 2')

    // the next scrape adds only what is new
    metrics.observe(0, 0, 0, 1, 0, 0.0001, 60, 120)
    upstream.requests = 4
    upstream.responses.set(0, 3)
    cache.hits = 6
    const again = await metrics.registry.metrics()
    expect(again).toContain('cnet_dns_requests_total{server="dns://127.0.0.1:53",zone="cluster.local",proto="udp",family="1",type="A"} 3')
    expect(again).toContain('cnet_dns_forward_requests_total{to="10.0.0.53:53"} 4')
    expect(again).toContain('cnet_dns_forward_responses_total{to="10.0.0.53:53",rcode="NOERROR"} 3')
    expect(line(again, 'cnet_dns_cache_hits_total')).toBe('cnet_dns_cache_hits_total 6')
  })

  it('a reload with other stub domains keeps what was counted under the old zones', async () => {
    const {metrics} = setup()
    metrics.observe(1, 0, 0, 1, 0, 0.0001, 60, 120)
    metrics.setZones(['cluster.local', 'other.example', 'corp.example', '.'])
    metrics.observe(1, 0, 0, 1, 0, 0.0001, 60, 120)
    const text = await metrics.registry.metrics()
    expect(text).toContain('zone="corp.example",proto="udp",family="1",type="A"} 1')
    expect(text).toContain('zone="other.example",proto="udp",family="1",type="A"} 1')
  })

  it('labels types and rcodes as CoreDNS does', () => {
    expect([1, 28, 33, 12, 65, 99].map(typeLabel)).toEqual(['A', 'AAAA', 'SRV', 'PTR', 'HTTPS', 'other'])
    expect([0, 3, 5, 16, 11].map(rcodeLabel)).toEqual(['NOERROR', 'NXDOMAIN', 'REFUSED', 'BADVERS', '11'])
  })

  it('counts reloads by result', async () => {
    const registry = new Registry()
    reloadCounter(registry).labels('failed').inc()
    expect(await registry.metrics()).toContain('cnet_dns_reloads_total{result="failed"} 1')
  })
})

describe('query log', () => {
  const entry: QueryLogEntry = {client: '127.0.0.1', port: 40211, id: 4242, type: 'A', class: 'IN', name: 'web.default.svc.cluster.local.', proto: 'udp', size: 70, do: false, bufsize: 1232, rcode: 'NOERROR', flags: 'qr,aa,rd', rsize: 130, duration: 0.000091}

  it("keeps CoreDNS's line in text logs", () => {
    const lines: string[] = []
    createQueryLog(createLogger({format: 'text', component: 'dns/query', sink: (l) => lines.push(l)}), 'text')(entry)
    expect(coreDnsLine(entry)).toBe('[INFO] 127.0.0.1:40211 - 4242 "A IN web.default.svc.cluster.local. udp 70 false 1232" NOERROR qr,aa,rd 130 0.000091s')
    expect(lines).toEqual([`INFO  dns/query: ${coreDnsLine(entry)}`])
  })

  it('gives JSON logs the values as fields', () => {
    const lines: string[] = []
    createQueryLog(createLogger({format: 'json', component: 'dns/query', sink: (l) => lines.push(l)}), 'json')(entry)
    const record = JSON.parse(lines[0]!)
    expect(record).toMatchObject({level: 'info', component: 'dns/query', msg: 'query', ...entry})
    expect(Object.keys(record)).toEqual(expect.arrayContaining(['client', 'port', 'id', 'type', 'class', 'name', 'proto', 'size', 'do', 'bufsize', 'rcode', 'flags', 'rsize', 'duration']))
  })

  it('names the reply flags', () => {
    expect(flagNames(0x8580)).toBe('qr,aa,rd,ra')
    expect(flagNames(0x8200)).toBe('qr,tc')
  })
})
