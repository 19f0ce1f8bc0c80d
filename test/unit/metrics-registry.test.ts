import {describe, expect, it} from '@jest/globals'
import type {AddressInfo} from 'node:net'
import {CnetError} from '../../src/lib/errors.js'
import {CNET_VERSION, closeServer, createMetricsRegistry, serveMetrics} from '../../src/lib/metrics.js'

describe('the daemons\' metrics endpoint', () => {
  it('exports cnet_build_info and the process and Node.js metrics', async () => {
    const text = await createMetricsRegistry().metrics()
    expect(text).toContain(`cnet_build_info{version="${CNET_VERSION}",node_version="${process.version}"} 1`)
    expect(text).toMatch(/^process_cpu_user_seconds_total /m)
    expect(text).toMatch(/^nodejs_heap_size_total_bytes /m)
  })

  it('serves /metrics on loopback, 404 elsewhere, and refuses an address in use in one line', async () => {
    const registry = createMetricsRegistry()
    const server = await serveMetrics({host: '127.0.0.1', port: 0}, registry)
    const {port} = server.address() as AddressInfo
    try {
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`)
      expect(metrics.status).toBe(200)
      expect(metrics.headers.get('content-type')).toBe(registry.contentType)
      expect(await metrics.text()).toContain('cnet_build_info')
      const other = await fetch(`http://127.0.0.1:${port}/`)
      expect([other.status, await other.text()]).toEqual([404, 'only /metrics here\n'])
      const taken = serveMetrics({host: '127.0.0.1', port}, registry)
      await expect(taken).rejects.toThrow(CnetError)
      await expect(taken).rejects.toThrow(`metrics: cannot listen on 127.0.0.1:${port}: address already in use`)
    } finally {
      await closeServer(server)
    }
    await closeServer(undefined)
  })

  it('answers 500 with the reason when a collector fails', async () => {
    const registry = createMetricsRegistry()
    registry.metrics = async () => Promise.reject(new Error('collector broke'))
    const server = await serveMetrics({host: '127.0.0.1', port: 0}, registry)
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`)
      expect([response.status, await response.text()]).toEqual([500, 'collector broke\n'])
    } finally {
      await closeServer(server)
    }
  })
})
