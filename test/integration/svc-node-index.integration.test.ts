import {type Server, createServer} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {Prober} from '../../src/health/prober.js'
import {silentLogger} from '../../src/lib/log.js'
import {Keys, openStore} from '../../src/store/index.js'
import type {Store} from '../../src/store/store.js'
import {listInstances} from '../../src/svc/listing.js'
import {ensureNodeIndex} from '../../src/svc/node-index.js'
import {type RegisterRequest, planRegistration} from '../../src/svc/registration-plan.js'
import {deregisterInstance, registerInstances, setMaintenance} from '../../src/svc/registry.js'
import {cliEnv, runCli} from '../helpers/cli.js'
import {waitUntil as until} from '../helpers/poll.js'
import {freePort} from '../helpers/ports.js'
import {uniquePrefixes, useEtcd} from '../helpers/shared-etcd.js'

const request = (over: Partial<RegisterRequest>): RegisterRequest => ({
  name: 'api', namespace: 'default', address: '127.0.0.1', port: 80, protocol: 'tcp', tags: [], meta: [], weight: 1, node: 'other', check: {}, ...over,
})

describe('the per-node registration index', () => {
  const etcd = useEtcd('svc-index')
  let store: Store
  let server: Server
  let port: number
  beforeAll(async () => {
    store = await openStore({endpoints: [etcd().endpoint]})
    port = await freePort()
    server = createServer((s) => s.destroy())
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  })
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
    await store?.close()
  })

  it('a prober receives no event for other nodes\' instances, and keeps probing its own', async () => {
    const keys = new Keys(uniquePrefixes('index'))
    const now = new Date()
    const check = {tcp: `127.0.0.1:${port}`, interval: '1s', timeout: '500ms'}
    // 3 instances on "mine" among 300 on 30 other nodes.
    const others = Array.from({length: 300}, (_, i) => planRegistration(request({id: `o-${i}`, node: `other-${i % 30}`, check}), now))
    const mine = ['m-0', 'm-1', 'm-2'].map((id) => planRegistration(request({id, node: 'mine', check}), now))
    await registerInstances(store, keys, [...others, ...mine])
    const prober = await Prober.start(store, keys, {node: 'mine', concurrency: 8, enableExecChecks: false, leaseTtlSeconds: 5, logger: silentLogger})
    try {
      expect(prober.stats().instances).toBe(3)
      await until('its three instances passing', async () => (await listInstances(store, keys, {node: 'mine'})).map((r) => r.status), (s) => s.length === 3 && s.every((x) => x === 'passing'))
      // Churn on other nodes: re-registering with a change, deregistering, maintenance, health writes.
      const changed = others.slice(0, 100).map((p) => ({...p, registration: {...p.registration, tags: ['v2']}}))
      await registerInstances(store, keys, changed)
      for (const p of others.slice(100, 120)) await deregisterInstance(store, keys, 'default', p.registration.id)
      await setMaintenance(store, keys, 'default', 'o-200', {reason: 'test', since: now.toISOString()})
      for (const p of others.slice(150, 200)) await store.put(keys.health('default', 'api', p.registration.id), JSON.stringify({status: 'passing', output: '', since: '', checkedAt: '', prober: 'x'}))
      // Moved onto this node: one event; one of its own in maintenance: one event.
      await registerInstances(store, keys, [{registration: {...others[299]!.registration, node: 'mine'}}])
      await setMaintenance(store, keys, 'default', 'm-0', {reason: 'mine', since: now.toISOString()})
      await until('the two events of its own', () => prober.stats().watchEvents, (n) => n >= 2)
      await new Promise((r) => setTimeout(r, 500)) // anything else would have arrived by now
      expect(prober.stats().watchEvents).toBe(2)
      expect(prober.stats().instances).toBe(4)
      // It still probes: the moved instance turns passing under this prober.
      await until('the moved instance probed here', async () => (await listInstances(store, keys, {node: 'mine'})).find((r) => r.id === 'o-299')?.prober, (p) => p === 'mine')
      expect(prober.stats().errors).toBe(0)
    } finally {
      await prober.stop({revoke: true})
    }
  }, 60_000)

  it('registration, index entry and health record are written, moved and removed together', async () => {
    const prefixes = uniquePrefixes('index')
    const keys = new Keys(prefixes)
    const env = cliEnv(etcd().endpoint, prefixes)
    const base = ['svc', 'register', 'web', '--id', 'web-1', '--address', '10.0.0.1', '--port', '80', '--check-tcp', '10.0.0.1:80', '--initial-status', 'passing']
    expect((await runCli([...base, '--node', 'n1'], {env})).exitCode).toBe(0)
    const index1 = await store.get(keys.nodeIndex('n1', 'default', 'web', 'web-1'))
    const registration = await store.get(keys.service('default', 'web', 'web-1'))
    expect(index1?.value).toBe(registration?.value)
    expect(index1?.modRevision).toBe(registration?.modRevision) // one transaction
    expect((await runCli([...base, '--node', 'n2'], {env})).exitCode).toBe(0)
    expect(await store.get(keys.nodeIndex('n1', 'default', 'web', 'web-1'))).toBeNull()
    const index2 = await store.get(keys.nodeIndex('n2', 'default', 'web', 'web-1'))
    expect(index2?.modRevision).toBe((await store.get(keys.service('default', 'web', 'web-1')))?.modRevision)
    expect((await runCli(['svc', 'deregister', 'web-1'], {env})).exitCode).toBe(0)
    expect((await store.list(`${prefixes.cnetPrefix}/`)).items).toEqual([])
  }, 30_000)

  it('upgrade: registrations written without an index are indexed once by the first prober, under their lease', async () => {
    const keys = new Keys(uniquePrefixes('upgrade'))
    const now = new Date()
    const lease = await store.grantLease(60)
    const legacy = [
      planRegistration(request({id: 'old-mine', node: 'mine', check: {tcp: `127.0.0.1:${port}`, interval: '1s'}}), now).registration,
      planRegistration(request({id: 'old-leased', node: 'mine', check: {tcp: `127.0.0.1:${port}`, interval: '1s'}}), now).registration,
      planRegistration(request({id: 'old-other', node: 'other'}), now).registration,
    ]
    // As the previous version wrote them: the registration alone.
    for (const r of legacy) await store.put(keys.service(r.namespace, r.name, r.id), JSON.stringify(r), r.id === 'old-leased' ? {lease} : {})
    const prober = await Prober.start(store, keys, {node: 'mine', concurrency: 4, enableExecChecks: false, leaseTtlSeconds: 5, logger: silentLogger})
    try {
      expect(prober.stats().instances).toBe(2)
      for (const r of legacy) expect((await store.get(keys.nodeIndex(r.node, r.namespace, r.name, r.id)))?.value).toBe(JSON.stringify(r))
      expect((await store.get(keys.nodeIndex('mine', 'default', 'api', 'old-leased')))?.lease).toBe(lease)
      expect(JSON.parse((await store.get(keys.schema()))!.value)).toMatchObject({version: 2, by: 'mine'})
      await until('its legacy instances probed', async () => (await listInstances(store, keys, {node: 'mine'})).map((r) => r.status), (s) => s.length === 2 && s.every((x) => x === 'passing'))
      // Done once: the next start reads the schema key only.
      expect(await ensureNodeIndex(store, keys, 'again', silentLogger)).toEqual({ran: false, registrations: 0, written: 0})
      // The leased registration goes with its lease, index entry included.
      await store.revokeLease(lease)
      await until('the leased instance gone here', () => prober.stats().instances, (n) => n === 1)
      expect(await store.get(keys.nodeIndex('mine', 'default', 'api', 'old-leased'))).toBeNull()
    } finally {
      await prober.stop({revoke: true})
    }
  }, 30_000)
})
