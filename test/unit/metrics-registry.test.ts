import {describe, expect, it} from '@jest/globals'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {CnetError} from '../../src/lib/errors.js'
import {CNET_VERSION, closeServer, createMetricsRegistry, serveMetrics} from '../../src/lib/metrics.js'

/** One GET on a connection of its own, closed after the answer (no pooled socket outlives the test). */
const get = (url: string) =>
  new Promise<{status: number; contentType: string | undefined; text: string}>((resolve, reject) => {
    http.get(url, {agent: false}, (response) => {
      let text = ''
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
      response.on('end', () => resolve({status: response.statusCode!, contentType: response.headers['content-type'], text}))
    }).on('error', reject)
  })

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
      const metrics = await get(`http://127.0.0.1:${port}/metrics`)
      expect(metrics.status).toBe(200)
      expect(metrics.contentType).toBe(registry.contentType)
      expect(metrics.text).toContain('cnet_build_info')
      const other = await get(`http://127.0.0.1:${port}/`)
      expect([other.status, other.text]).toEqual([404, 'only /metrics here\n'])
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
      const response = await get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`)
      expect([response.status, response.text]).toEqual([500, 'collector broke\n'])
    } finally {
      await closeServer(server)
    }
  })
})
