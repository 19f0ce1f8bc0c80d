/**
 * `dns serve` with a big registry: 100,000 instances (10,000 services x 10) beside a
 * baseline of 10,000 (1,000 x 10), both seeded straight into their own etcd, both
 * servers running as started (one worker per core) at the same time. Measures, per size:
 * time from start to /ready 200, resident memory of every process, queries/s on the same
 * 1,000 names (rounds alternating between the two), how soon a new instance is answered,
 * and queries/s and the answer cache's hit rate under a steady churn of health changes.
 * BENCH_SECONDS (10) per dnsperf run, BENCH_ROUNDS (3); BENCH_SIZES (10000,100000) the
 * baseline and the big registry, multiples of 10 (e.g. 100,1000 for a quick check that it runs).
 */
import {readFileSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {Resolver} from 'node:dns/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'
import {openStore} from '../src/store/index.js'
import {Keys} from '../src/store/keys.js'
import type {Store} from '../src/store/store.js'
import {cliEnv} from '../test/helpers/cli.js'
import {type DnsServer, startDnsServer} from '../test/helpers/dns-server.js'
import {type EtcdMember, sleep, startEtcd} from '../test/helpers/etcd.js'
import {freePort} from '../test/helpers/ports.js'
import {dnsperf} from './lib/dnsperf.js'
import {type Figure, median, report} from './lib/report.js'
import {seedFleet, seededInstance} from './lib/seed.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const PER_SERVICE = 10
const SIZES = (process.env.BENCH_SIZES ?? '10000,100000').split(',').map(Number)
if (SIZES.length !== 2 || SIZES.some((s) => !(s >= PER_SERVICE && s % PER_SERVICE === 0))) throw new Error(`BENCH_SIZES: two multiples of ${PER_SERVICE}, the baseline first`)
/** Names queried: the first 1,000 services, or every one of a smaller baseline. */
const QUERIED = Math.min(1000, SIZES[0]! / PER_SERVICE)
/** Health changes per second during the churn run. */
const CHURN_PER_SECOND = 200

const prefixes = {networkPrefix: '/bench/dnsscale/network', cnetPrefix: '/bench/dnsscale/cnet'}
const keys = new Keys(prefixes)

interface Setup {
  size: number
  etcd: EtcdMember
  store: Store
  server: DnsServer
  ready: number
  seedMs: number
  readyMs: number
  metricsPort: number
}

function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN)
}

const fleet = (size: number) => ({services: size / PER_SERVICE, instancesPerService: PER_SERVICE})

async function processTree(pid: number): Promise<number[]> {
  const {stdout} = await execa('pgrep', ['-P', String(pid)], {reject: false})
  return [pid, ...stdout.split('\n').filter(Boolean).map(Number)]
}

async function memory(setup: Setup): Promise<{primaryMb: number; workersMb: number[]; totalMb: number}> {
  const [primary, ...workers] = await processTree(setup.server.child.pid!)
  const mb = (kb: number) => Math.round(kb / 1024)
  const workersMb = workers.map((pid) => mb(rssKb(pid)))
  const primaryMb = mb(rssKb(primary!))
  return {primaryMb, workersMb, totalMb: primaryMb + workersMb.reduce((a, b) => a + b, 0)}
}

async function start(size: number, cleanups: (() => Promise<unknown>)[]): Promise<Setup> {
  const etcd = await startEtcd({name: `bench-dnsscale-${size}`})
  cleanups.push(() => etcd.destroy())
  const store = await openStore({endpoints: [etcd.endpoint], deadlineMs: 30_000})
  cleanups.unshift(() => store.close())
  // Prober leases that outlast the run: health records must not expire while it measures.
  const seeded = await seedFleet(store, keys, {...fleet(size), proberLeaseTtlSeconds: 3600})
  console.log(`seeded ${seeded.instances} instances (${seeded.keys} keys) in ${seeded.ms} ms`)
  const [port, ready, metricsPort] = [await freePort(), await freePort(), await freePort()]
  const started = Date.now()
  // /ready turns 200 once the first worker serves; startDnsServer returns once every worker does.
  const readyAt = (async () => {
    while ((await fetch(`http://127.0.0.1:${ready}/ready`).then((r) => r.status, () => 0)) !== 200) await sleep(20)
    return Date.now()
  })()
  const server = await startDnsServer(['--upstream', '127.0.0.1:9', '--ready', `127.0.0.1:${ready}`, '--metrics', `127.0.0.1:${metricsPort}`, '--ttl', '60s'], cliEnv(etcd.endpoint, prefixes), port, {asStarted: true, startTimeoutMs: 120_000})
  const readyMs = (await readyAt) - started
  return {size, etcd, store, server, ready, seedMs: seeded.ms, readyMs, metricsPort}
}

/** Registers a new service and polls (Node's resolver, in process) until it is answered. */
async function newInstanceMs(setup: Setup, trial: number): Promise<number> {
  const resolver = new Resolver({timeout: 500, tries: 1})
  resolver.setServers([`127.0.0.1:${setup.server.port}`])
  const {registration} = seededInstance(10_000_000 + trial, {services: 1, instancesPerService: 1, namePrefix: 'fresh', check: false})
  const name = `${registration.name}.default.svc.cluster.local`
  const started = Date.now()
  await setup.store.put(keys.service('default', registration.name, registration.id), JSON.stringify(registration))
  for (;;) {
    const answer = await resolver.resolve4(name).catch(() => [] as string[])
    if (answer.includes(registration.address)) return Date.now() - started
    await sleep(2)
  }
}

/** Flips the health of random instances between passing and warning, `perSecond` a second, until stopped. */
function churn(setup: Setup, perSecond: number): {stop(): Promise<number>} {
  let running = true
  let changes = 0
  const loop = (async () => {
    while (running) {
      const tick = Date.now()
      const batch = Array.from({length: perSecond / 10}, () => Math.floor(Math.random() * setup.size))
      await Promise.all(
        batch.map((n) => {
          const {registration, health} = seededInstance(n, fleet(setup.size))
          changes++
          return setup.store.put(keys.health('default', registration.name, registration.id), JSON.stringify({...health, status: changes % 2 ? 'warning' : 'passing'}))
        }),
      )
      await sleep(Math.max(0, 100 - (Date.now() - tick)))
    }
  })()
  return {
    async stop() {
      running = false
      await loop
      return changes
    },
  }
}

async function cacheCounts(setup: Setup): Promise<{hits: number; misses: number}> {
  const text = await (await fetch(`http://127.0.0.1:${setup.metricsPort}/metrics`)).text()
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN)
  return {hits: value('cnet_dns_cache_hits_total'), misses: value('cnet_dns_cache_misses_total')}
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'cnd-bench-scale-'))
  const setups: Setup[] = []
  const cleanups: (() => Promise<unknown>)[] = []
  try {
    for (const size of SIZES) setups.push(await start(size, cleanups))
    const queries = join(dir, 'names.txt')
    writeFileSync(queries, Array.from({length: QUERIED}, (_, i) => `svc${i}.default.svc.cluster.local A\n`).join(''))
    const out = join(dir, 'dnsperf.out')
    for (const setup of setups) await execa('dnsperf', ['-s', '127.0.0.1', '-p', String(setup.server.port), '-d', queries, '-n', '1'])

    const qps: Record<number, number[]> = Object.fromEntries(SIZES.map((s) => [s, []]))
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 ? [...setups].reverse() : setups
      for (const setup of order) qps[setup.size]!.push((await dnsperf(setup.server.port, queries, out, {clients: 4, seconds: SECONDS})).qps)
      console.log(`round ${round + 1}: ${SIZES.map((s) => `${s}: ${Math.round(qps[s]!.at(-1)!)} q/s`).join(', ')}`)
    }
    const figures: Figure[] = []
    const extra: Record<string, unknown> = {seconds: SECONDS, rounds: ROUNDS}
    for (const setup of setups) {
      const mem = await memory(setup)
      const fresh: number[] = []
      for (let trial = 0; trial < 5; trial++) fresh.push(await newInstanceMs(setup, setup.size + trial))
      const label = `${setup.size.toLocaleString('en')} instances`
      figures.push(
        {metric: `${label}: seeded in`, value: setup.seedMs, unit: 'ms'},
        {metric: `${label}: start to /ready 200`, value: setup.readyMs, unit: 'ms', target: '< 3000', met: setup.readyMs < 3000},
        {metric: `${label}: resident memory, primary`, value: mem.primaryMb, unit: 'MB'},
        {metric: `${label}: resident memory, each worker`, value: mem.workersMb.join(' / '), unit: 'MB', target: '< 300', met: mem.workersMb.every((m) => m < 300)},
        {metric: `${label}: resident memory, all processes`, value: mem.totalMb, unit: 'MB'},
        {metric: `${label}: qps, ${QUERIED.toLocaleString('en')} names, median (spread)`, value: `${Math.round(median(qps[setup.size]!))} (${Math.round(Math.min(...qps[setup.size]!))}-${Math.round(Math.max(...qps[setup.size]!))})`},
        {metric: `${label}: new instance answered after, median / worst of 5`, value: `${median(fresh)} / ${Math.max(...fresh)}`, unit: 'ms', target: '< 1000', met: Math.max(...fresh) < 1000},
      )
      extra[`qps ${setup.size}`] = qps[setup.size]!.map(Math.round)
    }
    const ratio = median(qps[SIZES[1]!]!) / median(qps[SIZES[0]!]!)
    figures.push({metric: `${SIZES[1]!.toLocaleString('en')} / ${SIZES[0]!.toLocaleString('en')} instances qps`, value: Number(ratio.toFixed(3)), target: '>= 0.9', met: ratio >= 0.9})

    // steady churn of health changes on the big registry: the answer cache keeps most answers
    const big = setups.at(-1)!
    const calm = await cacheCounts(big)
    const calmRun = await dnsperf(big.server.port, queries, out, {clients: 4, seconds: SECONDS})
    const afterCalm = await cacheCounts(big)
    const writer = churn(big, CHURN_PER_SECOND)
    const churnRun = await dnsperf(big.server.port, queries, out, {clients: 4, seconds: SECONDS})
    const changes = await writer.stop()
    const afterChurn = await cacheCounts(big)
    const hitRate = (a: {hits: number; misses: number}, b: {hits: number; misses: number}) => (b.hits - a.hits) / (b.hits - a.hits + b.misses - a.misses)
    figures.push(
      {metric: `${big.size.toLocaleString('en')} instances, no churn: qps / cache hit rate`, value: `${Math.round(calmRun.qps)} / ${(hitRate(calm, afterCalm) * 100).toFixed(2)}%`},
      {metric: `${big.size.toLocaleString('en')} instances, ${CHURN_PER_SECOND} health changes/s: qps / cache hit rate`, value: `${Math.round(churnRun.qps)} / ${(hitRate(afterCalm, afterChurn) * 100).toFixed(2)}%`},
      {metric: 'health changes written during the churn run', value: changes},
    )
    report('dns-scale', figures, extra)
  } finally {
    for (const setup of setups) await setup.server.stop().catch(() => {})
    for (const cleanup of cleanups) await cleanup().catch(() => {})
    rmSync(dir, {recursive: true, force: true})
  }
}

await main()
