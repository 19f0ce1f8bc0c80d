import {readFileSync} from 'node:fs'
import {afterEach, describe, expect, it} from '@jest/globals'
import {Registry} from 'prom-client'
import {StoreUnavailableError} from '../../src/lib/errors.js'
import {LEASE_METRIC_NAMES, leaseMetrics} from '../../src/net/subnet-metrics.js'
import {OVERLAY_METRIC_NAMES, overlayMetrics} from '../../src/net/vxlan/metrics.js'
import {vxlanWatch} from '../../src/net/vxlan/watch.js'
import {OverlayFixture, until} from '../helpers/overlay-fixture.js'
import {MemoryStore} from '../helpers/memory-store.js'

const docs = readFileSync(new URL('../../docs/overlay.md', import.meta.url), 'utf8')
const documented = (prefix: string) => [...docs.matchAll(/^\| `(cnet_[a-z_]+)` \|/gm)].map((m) => m[1]).filter((n) => n.startsWith(prefix))
const served = (text: string) => new Set([...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]))
const value = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1])

const fixtures: OverlayFixture[] = []
afterEach(() => fixtures.splice(0).forEach((f) => f.cleanup()))

describe('vxlan up --watch metrics', () => {
  it('serve every family docs/overlay.md lists, and count peers, changes and drift repaired', async () => {
    expect(documented('cnet_overlay_').sort()).toEqual([...OVERLAY_METRIC_NAMES].sort())
    const f = new OverlayFixture()
    fixtures.push(f)
    await f.addPeer(2)
    const registry = new Registry()
    const observer = overlayMetrics(registry)
    const stop = new AbortController()
    const done = vxlanWatch(f.ctx, f.settings(), stop.signal, {resyncMs: 30, retry: {initialMs: 5, maxMs: 10}, observer})
    try {
      await until(() => f.routesOn('cnet.1').length === 1)
      await f.addPeer(3)
      await until(() => f.routesOn('cnet.1').length === 2)
      // Drift: a route deleted behind cnet's back, put back by the periodic resync.
      f.kernel.routesTable = f.kernel.routesTable.filter((r) => r.dst !== '10.5.3.0/24')
      await until(() => f.routesOn('cnet.1').length === 2)
      const text = await registry.metrics()
      for (const name of OVERLAY_METRIC_NAMES) expect(served(text)).toContain(name)
      expect(value(text, 'cnet_overlay_peers{family="4"}')).toBe(2)
      expect(value(text, 'cnet_overlay_peers{family="6"}')).toBe(0)
      expect(value(text, 'cnet_overlay_lease_changes_total')).toBe(1)
      expect(value(text, 'cnet_overlay_operations_applied_total{by="event"}')).toBe(3)
      expect(value(text, 'cnet_overlay_drift_repaired_total')).toBe(1)
      expect(value(text, 'cnet_overlay_reconciles_total{why="start"}')).toBe(1)
    } finally {
      stop.abort()
      await done
    }
  })
})

describe('subnet lease --keep metrics', () => {
  it('serve every family docs/overlay.md lists; count the keep-alives sent through the store they hand back', async () => {
    expect(documented('cnet_subnet_lease_').sort()).toEqual([...LEASE_METRIC_NAMES].sort())
    let clock = 1_000_000
    const store = new MemoryStore({now: () => clock})
    const registry = new Registry()
    const metrics = leaseMetrics(registry, store, () => clock)
    const lease = await metrics.store.keepLease(60)
    metrics.follow(lease)
    // What the lease keeper does: keep-alives on the store it was started on.
    expect(await metrics.store.keepAliveOnce(lease.id)).toBe(true)
    expect(await metrics.store.keepAliveOnce(lease.id)).toBe(true)
    expect(await metrics.store.keepAliveOnce('999')).toBe(false)
    store.setDown(true)
    await expect(metrics.store.keepAliveOnce(lease.id)).rejects.toThrow(StoreUnavailableError)
    store.setDown(false)
    clock += 20_000
    let text = await registry.metrics()
    for (const name of LEASE_METRIC_NAMES) expect(served(text)).toContain(name)
    expect(value(text, 'cnet_subnet_lease_renewals_total')).toBe(2)
    expect(value(text, 'cnet_subnet_lease_renewal_failures_total{reason="lost"}')).toBe(1)
    expect(value(text, 'cnet_subnet_lease_renewal_failures_total{reason="unreachable"}')).toBe(1)
    expect(value(text, 'cnet_subnet_lease_expiry_seconds')).toBe(40)
    // etcd away: counted down from the last answer.
    store.setDown(true)
    clock += 15_000
    text = await registry.metrics()
    expect(value(text, 'cnet_subnet_lease_expiry_seconds')).toBe(25)
    await lease.stop()
    await store.close()
  })

  it('a reservation never expires', async () => {
    const registry = new Registry()
    const metrics = leaseMetrics(registry, new MemoryStore())
    metrics.follow(undefined)
    expect(await registry.metrics()).toMatch(/^cnet_subnet_lease_expiry_seconds \+Inf$/m)
  })
})
