/**
 * cnet dns serve against dnsmasq, same machine, same run, under two loads:
 *  - "50 names": 50 service names, dnsperf's defaults (one client, 100 queries in flight);
 *  - "1,000 names": 1,000 service names, four clients (-c 4), 100 in flight.
 * BENCH_SECONDS (20) of dnsperf per server per load per round, BENCH_ROUNDS (3) rounds
 * in alternating order; each load's ratio is the median of its rounds' ratios, with the
 * spread (lowest and highest round). p99 is exact: computed from dnsperf -v's per-query
 * latency lines. Then forwarded names (cnet -> dnsmasq upstream), warm cache. cnet runs
 * as started, with no --workers (one per core), unless BENCH_WORKERS is set.
 *
 * A third server runs in every round: the runtime's floor (lib/udp-floor-server.ts), a
 * Node UDP server with cnet's process layout and reply batching that does no DNS work.
 * Its ratio to dnsmasq is the most any server on this runtime could reach here.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {availableParallelism, tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'
import {openStore} from '../src/store/index.js'
import {cliEnv} from '../test/helpers/cli.js'
import {startDnsServer} from '../test/helpers/dns-server.js'
import {startDnsmasq} from '../test/helpers/dnsmasq.js'
import {startEtcd} from '../test/helpers/etcd.js'
import {freePort} from '../test/helpers/ports.js'
import {servicesFixture} from '../test/helpers/services-fixture.js'
import {type Run, dnsperf} from './lib/dnsperf.js'
import {type Figure, percentile, report} from './lib/report.js'
import {startUdpFloor} from './lib/udp-floor.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20)
const COUNT = 1000
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
/** cnet's --workers when set; else none given, so the default (one per core) is measured. */
const WORKERS = process.env.BENCH_WORKERS ? Number(process.env.BENCH_WORKERS) : undefined

interface Load {
  label: string
  names: number
  clients: number
}
const LOADS: Load[] = [
  {label: '50 names, 1 client', names: 50, clients: 1},
  {label: '1,000 names, 4 clients', names: 1000, clients: 4},
]

async function main() {
  const etcd = await startEtcd({name: 'bench-dns'})
  const dir = mkdtempSync(join(tmpdir(), 'cnd-bench-'))
  const prefixes = {networkPrefix: '/bench/dns/network', cnetPrefix: '/bench/dns/cnet'}
  const cleanups: (() => Promise<unknown>)[] = [() => etcd.destroy(), async () => rmSync(dir, {recursive: true, force: true})]
  try {
    const store = await openStore({endpoints: [etcd.endpoint]})
    const fixture = servicesFixture(store, prefixes)
    const hosts: Record<string, string> = {}
    const forwarded: Record<string, string> = {}
    for (let i = 0; i < COUNT; i++) {
      const address = `10.${(i >> 8) & 255}.${i & 255}.1`
      await fixture.putInstance({id: `i${i}`, name: `svc${i}`, address})
      hosts[`svc${i}.default.svc.cluster.local`] = address
      forwarded[`host${i}.example.test`] = address
    }
    await store.close()
    const queryFiles = LOADS.map((load) => {
      const file = join(dir, `services-${load.names}.txt`)
      writeFileSync(file, Object.keys(hosts).slice(0, load.names).map((name) => `${name} A\n`).join(''))
      return file
    })
    const forwardQueries = join(dir, 'forwarded.txt')
    writeFileSync(forwardQueries, Object.keys(forwarded).map((name) => `${name} A\n`).join(''))

    const dnsmasqPort = await freePort()
    const dnsmasq = await startDnsmasq(dnsmasqPort, {...hosts, ...forwarded})
    cleanups.unshift(() => dnsmasq.stop())
    const cnetPort = await freePort()
    const workerArgs = WORKERS === undefined ? [] : ['--workers', String(WORKERS)]
    const cnet = await startDnsServer(['--upstream', `127.0.0.1:${dnsmasqPort}`, '--ttl', '60s', ...workerArgs], cliEnv(etcd.endpoint, prefixes), cnetPort, {asStarted: WORKERS === undefined})
    cleanups.unshift(() => cnet.stop())
    const floorPort = await freePort()
    const floor = await startUdpFloor(floorPort, WORKERS ?? availableParallelism())
    cleanups.unshift(() => floor.stop())
    // warm both (cnet's answer cache, its forward cache)
    await execa('dnsperf', ['-s', '127.0.0.1', '-p', String(cnetPort), '-d', queryFiles[1]!, '-n', '1'])
    await execa('dnsperf', ['-s', '127.0.0.1', '-p', String(cnetPort), '-d', forwardQueries, '-n', '1'])

    // Rounds rotate which server goes first, so none always meets a warmer or a quieter
    // machine; ratios are taken within each round and their median reported.
    const out = join(dir, 'dnsperf.out')
    const servers = [
      {name: 'dnsmasq', port: dnsmasqPort},
      {name: 'cnet', port: cnetPort},
      {name: 'floor', port: floorPort},
    ] as const
    type Round = Record<(typeof servers)[number]['name'], Run>
    const rounds: Round[][] = LOADS.map(() => [])
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, load] of LOADS.entries()) {
        const runs: Partial<Round> = {}
        for (let k = 0; k < servers.length; k++) {
          const server = servers[(round + i + k) % servers.length]!
          runs[server.name] = await dnsperf(server.port, queryFiles[i]!, out, {clients: load.clients, seconds: SECONDS})
        }
        const r = runs as Round
        rounds[i]!.push(r)
        console.log(`round ${round + 1}, ${load.label}: dnsmasq ${Math.round(r.dnsmasq.qps)} q/s, cnet ${Math.round(r.cnet.qps)} q/s (${(r.cnet.qps / r.dnsmasq.qps).toFixed(2)}), floor ${Math.round(r.floor.qps)} q/s (${(r.floor.qps / r.dnsmasq.qps).toFixed(2)})`)
      }
    }
    const fwd = await dnsperf(cnetPort, forwardQueries, out, {clients: 4, seconds: SECONDS})
    const median = (values: number[]) => percentile(values, 50)
    const figures: Figure[] = []
    const extra: Record<string, unknown> = {seconds: SECONDS, rounds: ROUNDS, workers: WORKERS ?? `default (${availableParallelism()} cores)`, p99: 'exact, from dnsperf -v per-query latencies'}
    for (const [i, load] of LOADS.entries()) {
      const r = rounds[i]!
      const ratios = r.map((x) => x.cnet.qps / x.dnsmasq.qps)
      const ratio = median(ratios)
      const floorRatios = r.map((x) => x.floor.qps / x.dnsmasq.qps)
      const ofFloor = r.map((x) => x.cnet.qps / x.floor.qps)
      const spread = (values: number[]) => `${median(values).toFixed(2)} (${Math.min(...values).toFixed(2)}-${Math.max(...values).toFixed(2)})`
      const mineP99 = Math.max(...r.map((x) => x.cnet.p99Ms))
      const mineLost = r.reduce((sum, x) => sum + x.cnet.lost, 0)
      figures.push(
        {metric: `${load.label}: dnsmasq qps, median`, value: Math.round(median(r.map((x) => x.dnsmasq.qps)))},
        {metric: `${load.label}: dnsmasq avg (median) / p99 (worst)`, value: `${median(r.map((x) => x.dnsmasq.avgMs)).toFixed(3)} / ${Math.max(...r.map((x) => x.dnsmasq.p99Ms)).toFixed(3)}`, unit: 'ms'},
        {metric: `${load.label}: cnet qps, median`, value: Math.round(median(r.map((x) => x.cnet.qps)))},
        {metric: `${load.label}: cnet / dnsmasq, median (spread)`, value: spread(ratios), target: '>= 1.0', met: ratio >= 1},
        {metric: `${load.label}: cnet avg (median) / p99 (worst)`, value: `${median(r.map((x) => x.cnet.avgMs)).toFixed(3)} / ${mineP99.toFixed(3)}`, unit: 'ms', target: 'p99 < 5', met: mineP99 < 5},
        {metric: `${load.label}: cnet lost, all rounds`, value: mineLost, target: '0', met: mineLost === 0},
        {metric: `${load.label}: runtime floor qps, median`, value: Math.round(median(r.map((x) => x.floor.qps)))},
        {metric: `${load.label}: runtime floor / dnsmasq, median (spread)`, value: spread(floorRatios)},
        {metric: `${load.label}: cnet / runtime floor, median (spread)`, value: spread(ofFloor)},
      )
      extra[`ratios ${load.label}`] = ratios.map((x) => Number(x.toFixed(3)))
      extra[`floor ratios ${load.label}`] = floorRatios.map((x) => Number(x.toFixed(3)))
    }
    figures.push(
      {metric: 'cnet forwarded (warm cache) qps', value: Math.round(fwd.qps)},
      {metric: 'cnet forwarded avg / p99 latency', value: `${fwd.avgMs.toFixed(3)} / ${fwd.p99Ms.toFixed(3)}`, unit: 'ms'},
      {metric: 'cnet forwarded lost', value: fwd.lost},
    )
    report('dns', figures, extra)
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => {})
  }
}

await main()
