/**
 * cnet dns serve against dnsmasq, same machine, same run: 1,000 service names each,
 * 20 s of dnsperf per server per round, 3 rounds (BENCH_ROUNDS) in alternating order;
 * the ratio is the median of the rounds' ratios. p99 is exact: computed from dnsperf -v's
 * per-query latency lines. Then forwarded names (cnet -> dnsmasq upstream), warm cache.
 */
import {spawn} from 'node:child_process'
import {closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
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
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
/** cnet's --workers: one per core by default, as CoreDNS uses every core. */
const WORKERS = Number(process.env.BENCH_WORKERS ?? availableParallelism())

interface Run {
  qps: number
  avgMs: number
  p99Ms: number
  lost: number
  completed: number
}

/**
 * dnsperf's -v output (a line per query, for an exact p99) goes to a file and is read
 * afterwards: piped into this process it was millions of lines read while measuring,
 * on the same two cores as the servers.
 */
async function dnsperf(port: number, queryFile: string, outFile: string): Promise<Run> {
  // The child writes the file itself (an fd, not a stream through this process, which
  // could still be flushing when dnsperf exits).
  const fd = openSync(outFile, 'w')
  try {
    const child = spawn('dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', queryFile, '-l', String(SECONDS), '-c', '4', '-q', '100', '-v'], {stdio: ['ignore', fd, 'inherit']})
    await new Promise((resolve, reject) => child.on('error', reject).on('exit', resolve))
  } finally {
    closeSync(fd)
  }
  const stdout = readFileSync(outFile, 'utf8')
  rmSync(outFile)
  const latencies: number[] = []
  const summary: string[] = []
  for (const line of stdout.split('\n')) {
    if (line.startsWith('> ')) latencies.push(Number(line.slice(line.lastIndexOf(' ') + 1)) * 1000)
    else summary.push(line)
  }
  const summaryText = summary.join('\n')
  const number = (label: string) => Number(new RegExp(`${label}:\\s+([\\d.]+)`).exec(summaryText)?.[1] ?? NaN)
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

    // Rounds alternate which server goes first, so neither always meets a warmer or a
    // quieter machine; the ratio is taken within each round and the median reported.
    const out = join(dir, 'dnsperf.out')
    const rounds: {base: Run; mine: Run}[] = []
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        const base = await dnsperf(dnsmasqPort, serviceQueries, out)
        rounds.push({base, mine: await dnsperf(cnetPort, serviceQueries, out)})
      } else {
        const mine = await dnsperf(cnetPort, serviceQueries, out)
        rounds.push({base: await dnsperf(dnsmasqPort, serviceQueries, out), mine})
      }
      const last = rounds[rounds.length - 1]!
      console.log(`round ${round + 1}: dnsmasq ${Math.round(last.base.qps)} q/s, cnet ${Math.round(last.mine.qps)} q/s, ratio ${(last.mine.qps / last.base.qps).toFixed(2)}`)
    }
    const fwd = await dnsperf(cnetPort, forwardQueries, out)
    const median = (values: number[]) => percentile(values, 50)
    const ratio = median(rounds.map((r) => r.mine.qps / r.base.qps))
    const baseP99 = Math.max(...rounds.map((r) => r.base.p99Ms))
    const mineP99 = Math.max(...rounds.map((r) => r.mine.p99Ms))
    const mineLost = rounds.reduce((sum, r) => sum + r.mine.lost, 0)
    const figures: Figure[] = [
      {metric: 'dnsmasq qps (baseline), median', value: Math.round(median(rounds.map((r) => r.base.qps)))},
      {metric: 'dnsmasq avg (median) / p99 (worst)', value: `${median(rounds.map((r) => r.base.avgMs)).toFixed(3)} / ${baseP99.toFixed(3)}`, unit: 'ms'},
      {metric: 'dnsmasq lost, all rounds', value: rounds.reduce((sum, r) => sum + r.base.lost, 0)},
      {metric: 'cnet services qps, median', value: Math.round(median(rounds.map((r) => r.mine.qps)))},
      {metric: 'cnet / dnsmasq, median of rounds', value: Number(ratio.toFixed(2)), target: '>= 1.0', met: ratio >= 1},
      {metric: 'cnet services avg (median) / p99 (worst)', value: `${median(rounds.map((r) => r.mine.avgMs)).toFixed(3)} / ${mineP99.toFixed(3)}`, unit: 'ms', target: 'p99 < 5', met: mineP99 < 5},
      {metric: 'cnet services lost, all rounds', value: mineLost, target: '0', met: mineLost === 0},
      {metric: 'cnet forwarded (warm cache) qps', value: Math.round(fwd.qps)},
      {metric: 'cnet forwarded avg / p99 latency', value: `${fwd.avgMs.toFixed(3)} / ${fwd.p99Ms.toFixed(3)}`, unit: 'ms'},
      {metric: 'cnet forwarded lost', value: fwd.lost},
    ]
    report('dns', figures, {seconds: SECONDS, rounds: ROUNDS, names: COUNT, workers: WORKERS, ratios: rounds.map((r) => Number((r.mine.qps / r.base.qps).toFixed(3))), p99: 'exact, from dnsperf -v per-query latencies'})
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => {})
  }
}

await main()
