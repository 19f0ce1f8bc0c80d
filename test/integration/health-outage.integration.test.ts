import {type Server, createServer} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {Prober} from '../../src/health/prober.js'
import {silentLogger} from '../../src/lib/log.js'
import {Keys, openStore} from '../../src/store/index.js'
import {parseHealth} from '../../src/svc/model.js'
import {planRegistration} from '../../src/svc/registration-plan.js'
import {registerInstance} from '../../src/svc/registry.js'
import {type EtcdMember, sleep, startEtcd} from '../helpers/etcd.js'
import {waitFor} from '../helpers/poll.js'
import {freePort} from '../helpers/ports.js'
import {uniquePrefixes} from '../helpers/shared-etcd.js'

describe('health run across an etcd outage', () => {
  let etcd: EtcdMember
  beforeAll(async () => {
    etcd = await startEtcd({name: 'health-outage'})
  })
  afterAll(async () => etcd?.destroy())

  it('keeps probing while etcd is down and writes the change when it is back, under a lease granted again', async () => {
    const keys = new Keys(uniquePrefixes('outage'))
    const port = await freePort()
    let server: Server | undefined = createServer((s) => s.destroy())
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve))
    const store = await openStore({endpoints: [etcd.endpoint], deadlineMs: 1000})
    const plan = planRegistration(
      {name: 'db', namespace: 'default', address: '127.0.0.1', port, protocol: 'tcp', tags: [], meta: [], weight: 1, node: 'n1', check: {tcp: `127.0.0.1:${port}`, interval: '1s'}},
      new Date(),
    )
    await registerInstance(store, keys, plan)
    const healthKey = keys.health('default', 'db', 'db')
    const prober = await Prober.start(store, keys, {node: 'n1', concurrency: 4, enableExecChecks: false, leaseTtlSeconds: 2, logger: silentLogger})
    const read = async () => {
      const stored = await store.get(healthKey).catch(() => null)
      return stored ? parseHealth(stored.value)?.status : undefined
    }
    try {
      await waitFor('passing', async () => (await read()) === 'passing', {intervalMs: 100})

      await etcd.stop()
      const probesBefore = prober.stats().probes
      await new Promise<void>((resolve) => server!.close(() => resolve()))
      server = undefined
      // Four probes a second apart: etcd stays down for longer than the prober's 2 s lease TTL.
      await waitFor('four probes while etcd is down', () => prober.stats().probes >= probesBefore + 4, {timeoutMs: 15_000})
      expect(prober.stats().pendingWrites).toBe(1)

      await etcd.start()
      await etcd.waitReady()
      await waitFor('the critical record written once etcd is back', async () => (await read()) === 'critical', {timeoutMs: 15_000, intervalMs: 100})
      await sleep(3000) // proves a negative: past the TTL again, the record is still there: it lives under a kept lease
      expect(await read()).toBe('critical')
      expect(prober.stats().pendingWrites).toBe(0)
    } finally {
      server?.close()
      await prober.stop({revoke: true}).catch(() => {})
      await store.close()
    }
  }, 40_000)
})
