/**
 * 200 hosts race for subnets of one /16 (/24 subnets) in one etcd. Each acquirer has
 * its own etcd client and runs the same acquisition as `cnet subnet lease`, in this
 * process: 200 separate Node processes cannot even start in 5 s on two cores (the
 * integration test races 50 real processes). Prints duplicates (must be 0), wall
 * time, and p50/p99 per acquisition. Target: all 200 in under 5 s.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {initNetwork} from '../src/net/network-store.js'
import {acquireSubnet} from '../src/net/subnet-acquire.js'
import {Keys, openStore} from '../src/store/index.js'
import {startEtcd} from '../test/helpers/etcd.js'
import {percentile, report} from './lib/report.js'

const ACQUIRERS = Number(process.env.ACQUIRERS ?? 200)
const etcd = await startEtcd({name: 'bench-subnet'})
const dir = mkdtempSync(join(tmpdir(), 'cnet-bench-subnet-'))
try {
  const keys = new Keys()
  const admin = await openStore({endpoints: [etcd.endpoint]})
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
  report('subnet', [
    {metric: 'acquirers', value: ACQUIRERS},
    {metric: 'duplicate subnets', value: duplicates, target: '0', met: duplicates === 0},
    {metric: 'leases in etcd', value: stored, target: String(ACQUIRERS), met: stored === ACQUIRERS},
    {metric: 'wall time, all acquirers', value: wall, unit: 'ms', target: '< 5000', met: wall < 5000},
    {metric: 'per acquisition p50', value: percentile(durations, 50), unit: 'ms'},
    {metric: 'per acquisition p99', value: percentile(durations, 99), unit: 'ms'},
  ])
  await Promise.all([...stores, admin].map((s) => s.close()))
} finally {
  await etcd.destroy()
  rmSync(dir, {recursive: true, force: true})
}
