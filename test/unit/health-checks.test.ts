import {createServer as createHttpServer} from 'node:http'
import {type AddressInfo, createServer as createTcpServer} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {Registry} from 'prom-client'
import {httpCheck} from '../../src/health/http-check.js'
import {healthMetrics} from '../../src/health/metrics.js'
import {EXEC_DISABLED, runCheck} from '../../src/health/run-check.js'
import {tcpCheck} from '../../src/health/tcp-check.js'

describe('http and tcp probes on loopback', () => {
  const http = createHttpServer((req, res) => {
    if (req.url === '/hang') return
    const code = Number(req.url!.slice(1)) || 200
    res.writeHead(code, {'content-type': 'text/plain'})
    res.end(`said ${code} to ${req.method} ${req.headers['x-probe'] ?? ''}`)
  })
  const tcp = createTcpServer((s) => s.destroy())
  let httpPort = 0
  let tcpPort = 0
  beforeAll(async () => {
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r))
    httpPort = (http.address() as AddressInfo).port
    tcpPort = (tcp.address() as AddressInfo).port
  })
  afterAll(async () => {
    http.closeAllConnections()
    await new Promise((r) => http.close(r))
    await new Promise((r) => tcp.close(r))
  })

  it.each<[string, string, RegExp]>([
    ['/200', 'passing', /200 OK Output: said 200 to HEAD cnet/],
    ['/429', 'warning', /429/],
    ['/503', 'critical', /503/],
    ['/hang', 'critical', /timed out after 200ms/],
  ])('GET %s is %s', async (path, status, output) => {
    const result = await httpCheck({url: `http://127.0.0.1:${httpPort}${path}`, method: 'HEAD', headers: {'X-Probe': ['cnet']}, tlsSkipVerify: false, timeoutMs: 200})
    expect(result.status).toBe(status)
    if (path !== '/200') expect(result.output).toMatch(output)
  })

  it('tcp: open, refused, malformed, cancelled; run-check dispatches and refuses exec when disabled', async () => {
    expect(await tcpCheck(`127.0.0.1:${tcpPort}`, 500)).toMatchObject({status: 'passing'})
    const closed = createTcpServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    const closedPort = (closed.address() as AddressInfo).port
    await new Promise((r) => closed.close(r))
    expect(await tcpCheck(`127.0.0.1:${closedPort}`, 500)).toMatchObject({status: 'critical', output: expect.stringMatching(/ECONNREFUSED/)})
    expect(await tcpCheck('nonsense', 500)).toMatchObject({status: 'critical', output: expect.stringMatching(/not HOST:PORT/)})
    const controller = new AbortController()
    controller.abort()
    expect(await tcpCheck(`127.0.0.1:${tcpPort}`, 2000, controller.signal)).toMatchObject({status: 'critical', output: expect.stringMatching(/cancelled/)})
    expect(await httpCheck({url: `http://127.0.0.1:${httpPort}/200`, method: 'GET', headers: {}, tlsSkipVerify: false, timeoutMs: 200}, controller.signal)).toMatchObject({status: 'critical'})
    const timing = {intervalMs: 1000, timeoutMs: 300, successBeforePassing: 0, failuresBeforeCritical: 0}
    expect(await runCheck({type: 'tcp', address: `127.0.0.1:${tcpPort}`, ...timing}, {enableExec: false})).toMatchObject({status: 'passing'})
    expect(await runCheck({type: 'exec', args: ['true'], ...timing}, {enableExec: false})).toMatchObject({status: 'critical', output: EXEC_DISABLED})
    expect(await runCheck({type: 'http', url: `http://127.0.0.1:${httpPort}/200`, method: 'GET', headers: {}, tlsSkipVerify: false, ...timing}, {enableExec: false})).toMatchObject({status: 'passing'})
  })
})

describe('health metrics', () => {
  it('count probes, durations and late starts, and read the prober for the rest', async () => {
    const registry = new Registry()
    const metrics = healthMetrics(registry)
    metrics.hooks.onProbe!('tcp', 'passing', 12)
    metrics.hooks.onProbeStart!(500)
    metrics.hooks.onProbeStart!(5)
    const stats = {instances: 1, probes: 1, writes: 3, droppedWrites: 5, pendingWrites: 2, skipped: 0, running: 0, queued: 0, watchEvents: 4, errors: 1}
    metrics.follow({statusCounts: () => ({passing: 1, warning: 0, critical: 2}), stats: () => stats} as never)
    const text = await registry.metrics()
    for (const line of [
      'cnet_health_probes_total{type="tcp",result="passing"} 1',
      'cnet_health_late_starts_total 1',
      'cnet_health_checks{status="critical"} 2',
      'cnet_health_watch_events_total 4',
      'cnet_health_writes_total 3',
      'cnet_health_dropped_writes_total 5',
      'cnet_health_pending_writes 2',
      'cnet_health_errors_total 1',
      'cnet_health_probe_duration_seconds_count{type="tcp"} 1',
    ]) expect(text).toContain(line)
  })
})
