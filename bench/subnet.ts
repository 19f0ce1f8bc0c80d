/**
 * Two figures of the subnet leases, in one etcd:
 *
 * 1. Acquisition: 200 hosts race for subnets of one /16 (/24 subnets). Each acquirer has
 *    its own etcd client and runs the same acquisition as `cnet subnet lease`, in this
 *    process: 200 separate Node processes cannot even start in 5 s on two cores (the
 *    integration test races 50 real processes). Prints duplicates (must be 0), wall
 *    time, and p50/p99 per acquisition. Target: all 200 in under 5 s.
 * 2. Listing: `cnet subnet list --json` (the real command, a process of its own) with
 *    10,000 leases, each under its own etcd lease as on 10,000 hosts, against 100 leases
 *    in the same run (the baseline). Target (issue 11): under 1 s.
 *
 * ACQUIRERS=N and LEASES=N change the sizes.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'
import {parseCidr} from '../src/net/ip.js'
import {formatLeaseAttrs, formatLeaseName} from '../src/net/lease.js'
import {initNetwork} from '../src/net/network-store.js'
import {acquireSubnet} from '../src/net/subnet-acquire.js'
import {leaseRows} from '../src/net/subnet-listing.js'
import {Keys, openStore} from '../src/store/index.js'
import type {Store} from '../src/store/store.js'
import {CLI} from '../test/helpers/cli.js'
import {startEtcd} from '../test/helpers/etcd.js'
import {median, percentile, report} from './lib/report.js'

const ACQUIRERS = Number(process.env.ACQUIRERS ?? 200)
const LEASES = Number(process.env.LEASES ?? 10_000)
const BASELINE = 100
const TRIALS = 3

/** `count` leases under `networkPrefix`, each under an etcd lease of its own, written in transactions. */
async function seedLeases(store: Store, keys: Keys, count: number): Promise<void> {
  await store.put(keys.networkConfig(), JSON.stringify({Network: '10.0.0.0/8', SubnetLen: 24}))
  const leaseIds: string[] = []
  let next = 0
  await Promise.all(Array.from({length: 64}, async () => {
    while (next < count) {
      next++
      leaseIds.push(await store.grantLease(3600))
    }
  }))
  for (let start = 0; start < count; start += 100) {
    const ops = []
    for (let i = start + 1; i <= Math.min(start + 100, count); i++) {
      const hex = (n: number) => n.toString(16).padStart(2, '0')
      const value = formatLeaseAttrs({PublicIP: `172.16.${i >> 8}.${i & 255}`, PublicIPv6: null, BackendType: 'vxlan', BackendData: {VNI: 1, VtepMAC: `02:00:00:00:${hex((i >> 8) & 255)}:${hex(i & 255)}`}, HostName: `host-${i}`})
      ops.push({type: 'put' as const, key: keys.subnet(formatLeaseName({v4: parseCidr(`10.${i >> 8}.${i & 255}.0/24`)!})), value, lease: leaseIds[i - 1]})
    }
    await store.transaction(ops)
  }
}

/** `cnet subnet list --json` as a user runs it: wall time of the whole process, and its rows. */
async function listCli(endpoint: string, keys: Keys): Promise<{ms: number; rows: number}> {
  const started = performance.now()
  const {stdout} = await execa(process.execPath, [CLI, 'subnet', 'list', '--json'], {env: {CNET_ETCD_ENDPOINTS: endpoint, CNET_ETCD_PREFIX: keys.networkPrefix, NODE_ENV: 'production'}, maxBuffer: 64 * 1024 * 1024})
  return {ms: performance.now() - started, rows: (JSON.parse(stdout) as unknown[]).length}
}

const etcd = await startEtcd({name: 'bench-subnet'})
const dir = mkdtempSync(join(tmpdir(), 'cnet-bench-subnet-'))
try {
  const keys = new Keys()
  const admin = await openStore({endpoints: [etcd.endpoint], deadlineMs: 30_000})
  await initNetwork(admin, keys, {Network: '10.5.0.0/16', Backend: {Type: 'vxlan'}}, {force: false, source: 'flags'})
  const stores = await Promise.all(Array.from({length: ACQUIRERS}, () => openStore({endpoints: [etcd.endpoint], deadlineMs: 30_000})))
  // Connect every client first, so the race measures acquisition, not gRPC set-up.
  await Promise.all(stores.map((s) => s.revision()))
  const durations: number[] = []
  const started = performance.now()
  const subnets = await Promise.all(
    stores.map(async (store, i) => {
      const t0 = performance.now()
      const {result, lease} = await acquireSubnet(store, keys, {
        host: {publicIp: `192.168.${Math.floor(i / 250)}.${(i % 250) + 1}`, mtu: 1500},
        subnetFile: join(dir, `h${i}`, 'subnet.env'),
        ttlSeconds: 3600,
        ipMasq: false,
      })
      await lease?.stop()
      durations.push(performance.now() - t0)
      return result.subnet
    }),
  )
  const wall = performance.now() - started
  const duplicates = subnets.length - new Set(subnets).size
  const stored = (await admin.list(keys.subnetsPrefix())).items.length
  await Promise.all(stores.map((s) => s.close()))

  const big = new Keys({networkPrefix: '/bench/list/big'})
  const small = new Keys({networkPrefix: '/bench/list/small'})
  await seedLeases(admin, big, LEASES)
  await seedLeases(admin, small, BASELINE)
  const bigMs: number[] = []
  const smallMs: number[] = []
  const libraryMs: number[] = []
  let bigRows = 0
  for (let t = 0; t < TRIALS; t++) {
    const s = await listCli(etcd.endpoint, small)
    smallMs.push(s.ms)
    const b = await listCli(etcd.endpoint, big)
    bigMs.push(b.ms)
    bigRows = b.rows
    const t0 = performance.now()
    await leaseRows(admin, big)
    libraryMs.push(performance.now() - t0)
  }
  await admin.close()
  report('subnet', [
    {metric: 'acquirers', value: ACQUIRERS},
    {metric: 'duplicate subnets', value: duplicates, target: '0', met: duplicates === 0},
    {metric: 'leases in etcd', value: stored, target: String(ACQUIRERS), met: stored === ACQUIRERS},
    {metric: 'wall time, all acquirers', value: wall, unit: 'ms', target: '< 5000', met: wall < 5000},
    {metric: 'per acquisition p50', value: percentile(durations, 50), unit: 'ms'},
    {metric: 'per acquisition p99', value: percentile(durations, 99), unit: 'ms'},
    {metric: `subnet list --json, ${BASELINE} leases (baseline, median)`, value: median(smallMs), unit: 'ms'},
    {metric: `subnet list --json, ${LEASES} leases (median)`, value: median(bigMs), unit: 'ms', target: '< 1000', met: median(bigMs) < 1000},
    {metric: `  rows printed`, value: bigRows, target: String(LEASES), met: bigRows === LEASES},
    {metric: `  of which the listing in-process (median)`, value: median(libraryMs), unit: 'ms'},
  ], {durations, smallMs, bigMs, libraryMs})
} finally {
  await etcd.destroy()
  rmSync(dir, {recursive: true, force: true})
}
