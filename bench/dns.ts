/**
 * cnet dns serve against dnsmasq, same machine, same run: 1,000 service names each,
 * 20 s of dnsperf per server. p99 is exact: computed from dnsperf -v's per-query
 * latency lines. Then forwarded names (cnet -> dnsmasq upstream) with a warm cache.
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
import {type Figure, percentile, report} from './lib/report.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20)
const COUNT = 1000
/** cnet's --workers: one per core by default, as CoreDNS uses every core. */
const WORKERS = Number(process.env.BENCH_WORKERS ?? availableParallelism())

interface Run {
  qps: number
  avgMs: number
  p99Ms: number
  lost: number
  completed: number
}

async function dnsperf(port: number, queryFile: string): Promise<Run> {
  const {stdout} = await execa('dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', queryFile, '-l', String(SECONDS), '-c', '4', '-q', '100', '-v'], {reject: false, maxBuffer: 1 << 30})
  const latencies: number[] = []
  for (const line of stdout.split('\n')) {
    if (line.startsWith('> ')) latencies.push(Number(line.slice(line.lastIndexOf(' ') + 1)) * 1000)
  }
  const number = (label: string) => Number(new RegExp(`${label}:\\s+([\\d.]+)`).exec(stdout)?.[1] ?? NaN)
  return {qps: number('Queries per second'), avgMs: number('Average Latency \\(s\\)') * 1000, p99Ms: percentile(latencies, 99), lost: number('Queries lost'), completed: number('Queries completed')}
}

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
    const serviceQueries = join(dir, 'services.txt')
    writeFileSync(serviceQueries, Object.keys(hosts).map((name) => `${name} A\n`).join(''))
    const forwardQueries = join(dir, 'forwarded.txt')
    writeFileSync(forwardQueries, Object.keys(forwarded).map((name) => `${name} A\n`).join(''))

    const dnsmasqPort = await freePort()
    const dnsmasq = await startDnsmasq(dnsmasqPort, {...hosts, ...forwarded})
    cleanups.unshift(() => dnsmasq.stop())
    const cnetPort = await freePort()
    const cnet = await startDnsServer(['--upstream', `127.0.0.1:${dnsmasqPort}`, '--ttl', '60s', '--workers', String(WORKERS)], cliEnv(etcd.endpoint, prefixes), cnetPort)
    cleanups.unshift(() => cnet.stop())
    // warm both (cnet's answer cache, its forward cache)
    await execa('dnsperf', ['-s', '127.0.0.1', '-p', String(cnetPort), '-d', serviceQueries, '-n', '1'])
    await execa('dnsperf', ['-s', '127.0.0.1', '-p', String(cnetPort), '-d', forwardQueries, '-n', '1'])

    const base = await dnsperf(dnsmasqPort, serviceQueries)
    const mine = await dnsperf(cnetPort, serviceQueries)
    const fwd = await dnsperf(cnetPort, forwardQueries)
    const figures: Figure[] = [
      {metric: 'dnsmasq qps (baseline)', value: Math.round(base.qps)},
      {metric: 'dnsmasq avg / p99 latency', value: `${base.avgMs.toFixed(3)} / ${base.p99Ms.toFixed(3)}`, unit: 'ms'},
      {metric: 'dnsmasq lost', value: base.lost},
      {metric: 'cnet services qps', value: Math.round(mine.qps)},
      {metric: 'cnet / dnsmasq', value: Number((mine.qps / base.qps).toFixed(2)), target: '>= 1.0', met: mine.qps >= base.qps},
      {metric: 'cnet services avg / p99 latency', value: `${mine.avgMs.toFixed(3)} / ${mine.p99Ms.toFixed(3)}`, unit: 'ms', target: 'p99 < 5', met: mine.p99Ms < 5},
      {metric: 'cnet services lost', value: mine.lost, target: '0', met: mine.lost === 0},
      {metric: 'cnet forwarded (warm cache) qps', value: Math.round(fwd.qps)},
      {metric: 'cnet forwarded avg / p99 latency', value: `${fwd.avgMs.toFixed(3)} / ${fwd.p99Ms.toFixed(3)}`, unit: 'ms'},
      {metric: 'cnet forwarded lost', value: fwd.lost},
    ]
    report('dns', figures, {seconds: SECONDS, names: COUNT, workers: WORKERS, p99: 'exact, from dnsperf -v per-query latencies'})
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => {})
  }
}

await main()
