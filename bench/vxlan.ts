/**
 * Plans and applies 10,000 peer leases (PEERS=N to change) into a network namespace and
 * measures: the plan (a dry run against the kernel), the first apply, a no-op resync,
 * lease put -> route in the kernel with the watch loop running (100 changes, p50 and
 * p99; as `vxlan up --watch` runs, with batch processes kept, and against a process
 * round per change in the same run), and `ip -batch` alone applying the same operations
 * (the floor). Run with `npm run bench:vxlan` (root). Issue 11's budgets at 10,000 peers:
 * plan < 1 s, first apply < 3 s, no-op < 1 s, watch p99 < 100 ms.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'
import {silentLogger} from '../src/lib/log.js'
import {parseCidr} from '../src/net/ip.js'
import {formatLeaseAttrs, formatLeaseName} from '../src/net/lease.js'
import {formatSubnetEnv} from '../src/net/subnet-env.js'
import {IpKernel} from '../src/net/vxlan/ip-kernel.js'
import {batchText, toBatches} from '../src/net/vxlan/batch.js'
import {type OverlayContext, loadHost, listLeases, planFor, readTargets} from '../src/net/vxlan/host.js'
import {diffState} from '../src/net/vxlan/diff.js'
import {vxlanUp} from '../src/net/vxlan/up.js'
import {vxlanWatch} from '../src/net/vxlan/watch.js'
import {Keys, openStore} from '../src/store/index.js'
import {startEtcd} from '../test/helpers/etcd.js'
import {addNamespace, cleanup, ip} from '../test/helpers/netns.js'
import {median, percentile, report} from './lib/report.js'
import {monitorRoutes} from './lib/route-monitor.js'

const PREFIX = 'cnvb-'
const NS = `${PREFIX}h1`
const PEERS = Number(process.env.PEERS ?? 10_000)
const CHANGES = 100
const TRIALS = 3
const DEVICE = 'cnet.1'

const subnetAt = (i: number) => `10.${64 + (i >> 8)}.${i & 255}.0/24`
const macAt = (i: number) => `02:b0:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`
const publicAt = (i: number) => `10.96.${(i >> 8) & 255}.${(i & 255) || 1}`
const leaseValue = (i: number) => formatLeaseAttrs({PublicIP: publicAt(i), PublicIPv6: null, BackendType: 'vxlan', BackendData: {VNI: 1, VtepMAC: macAt(i)}, HostName: `peer${i}`})

async function main(): Promise<void> {
  await cleanup(PREFIX)
  const dir = mkdtempSync(join(tmpdir(), 'cnvb-'))
  const etcd = await startEtcd({name: 'bench-vxlan'})
  const keys = new Keys({networkPrefix: '/bench/vxlan/network', cnetPrefix: '/bench/vxlan/cnet'})
  const store = await openStore({endpoints: [etcd.endpoint], deadlineMs: 20_000})
  try {
    await addNamespace(NS)
    await ip('-n', NS, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1')
    await ip('-n', NS, 'addr', 'add', '10.96.0.1/16', 'dev', 'eth0')
    await ip('-n', NS, 'link', 'set', 'eth0', 'up')
    await ip('-n', NS, 'link', 'set', 'eth1', 'up')

    await store.put(keys.networkConfig(), JSON.stringify({Network: '10.64.0.0/10', SubnetLen: 24, Backend: {Type: 'vxlan'}}))
    const selfIndex = 1
    await store.put(keys.subnet(formatLeaseName({v4: parseCidr(subnetAt(selfIndex))!})), formatLeaseAttrs({PublicIP: '10.96.0.1', PublicIPv6: null, BackendType: 'vxlan', BackendData: {VNI: 1, VtepMAC: '02:b0:ff:00:00:01'}}))
    const subnetFile = join(dir, 'subnet.env')
    writeFileSync(subnetFile, formatSubnetEnv({network: parseCidr('10.64.0.0/10')!, subnet: parseCidr(subnetAt(selfIndex))!, mtu: 1450, ipMasq: false}))
    // Seeded in transactions of 100 puts: seconds, not minutes.
    for (let start = 2; start < 2 + PEERS; start += 100) {
      const ops = []
      for (let i = start; i < Math.min(start + 100, 2 + PEERS); i++) ops.push({type: 'put' as const, key: keys.subnet(formatLeaseName({v4: parseCidr(subnetAt(i))!})), value: leaseValue(i)})
      await store.transaction(ops)
    }

    const kernel = new IpKernel({netns: NS})
    const ctx: OverlayContext = {store, keys, logger: silentLogger, kernel}
    const settings = {subnetFile, ipMasq: false}
    const removeDevice = () => ip('-n', NS, 'link', 'del', DEVICE).catch(() => '')

    // The same operations, for ip -batch alone.
    const host = await loadHost(ctx, settings)
    const {states} = planFor(host, (await listLeases(ctx)).leases)
    const ops = diffState(states[0], {addresses: [], neighs: [], fdbs: [], routes: []})
    const phases = toBatches(ops)

    const planMs: number[] = []
    const floorMs: number[] = []
    const firstMs: number[] = []
    let applied = 0
    for (let t = 0; t < TRIALS; t++) {
      await removeDevice()
      let started = performance.now()
      const plan = await vxlanUp(ctx, settings, true)
      planMs.push(performance.now() - started)
      if (plan.operations.length !== ops.length) throw new Error(`dry run planned ${plan.operations.length} operations, expected ${ops.length}`)
      started = performance.now()
      for (const phase of phases) await execa(phase.tool, ['-n', NS, '-batch', '-'], {input: batchText(phase)})
      floorMs.push(performance.now() - started)
      await removeDevice()
      started = performance.now()
      const result = await vxlanUp(ctx, settings, false)
      firstMs.push(performance.now() - started)
      applied = result.applied
    }
    // What a no-op costs apart from the plan: reading 10,000 entries back from the kernel.
    const readMs: number[] = []
    for (let t = 0; t < 3; t++) {
      const started = performance.now()
      await kernel.readActual(readTargets(host)[0])
      readMs.push(performance.now() - started)
    }
    const noopMs: number[] = []
    for (let t = 0; t < 5; t++) {
      const started = performance.now()
      const result = await vxlanUp(ctx, settings, false)
      noopMs.push(performance.now() - started)
      if (result.applied !== 0) throw new Error(`no-op resync applied ${result.applied} operations`)
    }
    const routeCount = (JSON.parse(await ip('-n', NS, '-j', 'route', 'show', 'dev', DEVICE)) as unknown[]).length

    // Single changes with the watch loop running; the route is seen through `ip monitor`.
    // First with a process round per change (the baseline), then as `vxlan up --watch`
    // runs: with an `ip` and a `bridge` batch process kept for the changes.
    const routes = monitorRoutes(NS)
    let nextLease = 2 + PEERS
    const watchChanges = async (watchKernel: IpKernel) => {
      const stop = new AbortController()
      const applyMs: number[] = []
      const watching = vxlanWatch({...ctx, kernel: watchKernel}, settings, stop.signal, {resyncMs: 3_600_000, observer: {changed: (c) => applyMs.push(c.ms)}})
      const changeMs: number[] = []
      try {
        await new Promise((resolve) => setTimeout(resolve, 3000))
        for (let c = 0; c < CHANGES; c++) {
          const i = nextLease++
          const seen = routes.seen(subnetAt(i), 5000)
          const started = performance.now()
          await store.put(keys.subnet(formatLeaseName({v4: parseCidr(subnetAt(i))!})), leaseValue(i))
          await seen
          changeMs.push(performance.now() - started)
        }
      } finally {
        // Also when a change is not seen: the watch and its kept processes end with the bench.
        stop.abort()
        await watching.catch(() => undefined)
        watchKernel.close()
      }
      return {changeMs, applyMs}
    }
    let spawned: Awaited<ReturnType<typeof watchChanges>>
    let kept: Awaited<ReturnType<typeof watchChanges>>
    try {
      spawned = await watchChanges(new IpKernel({netns: NS}))
      kept = await watchChanges(new IpKernel({netns: NS, keepBatchProcesses: true}))
    } finally {
      routes.stop()
    }
    const {changeMs, applyMs} = kept

    // The floor of a watch event: one round of an `ip -batch` and a `bridge -batch` process
    // started side by side, each with one line that changes nothing.
    const spawnMs: number[] = []
    const route = `route replace ${subnetAt(2)} via ${subnetAt(2).replace(/\/24$/, '')} dev ${DEVICE} onlink\n`
    const fdb = `fdb replace ${macAt(2)} dev ${DEVICE} dst ${publicAt(2)} self permanent\n`
    for (let c = 0; c < CHANGES; c++) {
      const started = performance.now()
      await Promise.all([execa('ip', ['-n', NS, '-batch', '-'], {input: route}), execa('bridge', ['-n', NS, '-batch', '-'], {input: fdb})])
      spawnMs.push(performance.now() - started)
    }

    const plan = median(planMs)
    const first = median(firstMs)
    const floor = median(floorMs)
    const noop = median(noopMs)
    const p99 = percentile(changeMs, 99)
    report('vxlan', [
      {metric: 'peers', value: PEERS},
      {metric: 'operations (first apply)', value: applied},
      {metric: 'routes in the kernel', value: routeCount},
      {metric: 'plan: dry run against the kernel (median)', value: plan, unit: 'ms', target: '< 1000', met: plan < 1000},
      {metric: 'first apply (median)', value: first, unit: 'ms', target: '< 3000', met: first < 3000},
      {metric: 'ip -batch alone, same ops (floor, median)', value: floor, unit: 'ms'},
      {metric: 'first apply / floor', value: first / floor, unit: 'x', target: '< 1.5', met: first / floor < 1.5},
      {metric: 'no-op resync (median of 5)', value: noop, unit: 'ms', target: '< 1000', met: noop < 1000},
      {metric: '  of which reading the kernel (median)', value: median(readMs), unit: 'ms'},
      {metric: 'watch event -> applied (p50)', value: median(applyMs), unit: 'ms'},
      {metric: 'lease put -> route, p50', value: median(changeMs), unit: 'ms'},
      {metric: 'lease put -> route, p99', value: p99, unit: 'ms', target: '< 100', met: p99 < 100},
      {metric: '  a process round per change: event -> applied (p50)', value: median(spawned.applyMs), unit: 'ms'},
      {metric: '  a process round per change: put -> route, p50', value: median(spawned.changeMs), unit: 'ms'},
      {metric: '  a process round per change: put -> route, p99', value: percentile(spawned.changeMs, 99), unit: 'ms'},
      {metric: 'put -> route p50, kept processes / a round per change', value: median(changeMs) / median(spawned.changeMs), unit: 'x'},
      {metric: 'ip + bridge process round alone (floor, p50)', value: median(spawnMs), unit: 'ms'},
      {metric: 'ip + bridge process round alone (floor, p99)', value: percentile(spawnMs, 99), unit: 'ms'},
    ], {planMs, firstMs, floorMs, noopMs, readMs, changeMs, applyMs, spawnedChangeMs: spawned.changeMs, spawnedApplyMs: spawned.applyMs, spawnMs})
  } finally {
    await store.close().catch(() => {})
    await etcd.destroy()
    await cleanup(PREFIX)
    rmSync(dir, {recursive: true, force: true})
  }
}

await main()
