import type {Worker} from 'node:cluster'
import {EventEmitter} from 'node:events'
import {describe, expect, it} from '@jest/globals'
import {Counter, Registry} from 'prom-client'
import {collectWorkerMetrics} from '../../src/dns/worker-metrics.js'

/** A worker as the primary sees it: send() a question, a 'message' back (or nothing, or an exit). */
function fakeWorker(id: number, answer: 'metrics' | 'silent' | 'error' | 'exit', queries = 0): Worker {
  const worker = new EventEmitter() as EventEmitter & {id: number; send(message: unknown): boolean}
  worker.id = id
  const registry = new Registry()
  const counter = new Counter({name: 'cnet_dns_requests_total', help: 'queries', labelNames: ['type'], registers: [registry]})
  counter.labels('A').inc(queries)
  worker.send = (message) => {
    const {requestId} = message as {requestId: number}
    setImmediate(async () => {
      if (answer === 'metrics') worker.emit('message', {cnetDns: 'metrics', requestId, metrics: await registry.getMetricsAsJSON()})
      if (answer === 'error') worker.emit('message', {cnetDns: 'metrics', requestId, error: 'registry broke'})
      if (answer === 'exit') worker.emit('exit', null, 'SIGKILL')
      // another question's reply and unrelated messages are ignored
      worker.emit('message', {cnetDns: 'metrics', requestId: requestId + 1000, metrics: []})
      worker.emit('message', {cnetDns: 'state', listening: true})
    })
    return true
  }
  return worker as unknown as Worker
}

describe('the serving workers metrics, added up by the primary', () => {
  it('sums what each worker answers', async () => {
    const text = await collectWorkerMetrics([fakeWorker(1, 'metrics', 4), fakeWorker(2, 'metrics', 2)])
    expect(text).toMatch(/^cnet_dns_requests_total\{type="A"\} 6$/m)
  })

  it('asks nobody and answers nothing when no worker serves', async () => {
    expect(await collectWorkerMetrics([])).toBe('')
  })

  it('fails the scrape, naming the worker, when one does not answer in time, reports an error or exits', async () => {
    await expect(collectWorkerMetrics([fakeWorker(1, 'metrics', 1), fakeWorker(7, 'silent')], 50)).rejects.toThrow('dns worker 7 gave no metrics within 50 ms')
    await expect(collectWorkerMetrics([fakeWorker(3, 'error')])).rejects.toThrow('dns worker 3: registry broke')
    await expect(collectWorkerMetrics([fakeWorker(4, 'exit')])).rejects.toThrow('dns worker 4 exited before giving its metrics')
  })

  it('leaves no listener behind on the workers', async () => {
    const worker = fakeWorker(5, 'metrics', 1)
    await collectWorkerMetrics([worker])
    expect((worker as unknown as EventEmitter).listenerCount('message')).toBe(0)
    expect((worker as unknown as EventEmitter).listenerCount('exit')).toBe(0)
  })
})
