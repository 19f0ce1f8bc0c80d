/**
 * One prober (the library `cnet health run` runs, in this process) probes 2,000 HTTP
 * checks at a 1 s interval against local HTTP servers (in a child process, so their
 * CPU is not counted) for 30 s. Prints checks per second, the share of checks started
 * more than 100 ms after their slot, the prober's CPU use (this process, which does
 * little else) and the etcd writes per second, counted by a watch on the health prefix.
 * Targets: >= 1,900 checks/s, < 1% late, < 50% of one core, 0 writes while nothing changes.
 */
import {spawn} from 'node:child_process'
import {Prober} from '../src/health/prober.js'
import {silentLogger} from '../src/lib/log.js'
import {Keys, openStore} from '../src/store/index.js'
import {planRegistration} from '../src/svc/registration-plan.js'
import {startEtcd} from '../test/helpers/etcd.js'
import {freePort} from '../test/helpers/ports.js'
import {report} from './lib/report.js'

const CHECKS = Number(process.env.CHECKS ?? 2000)
const SERVERS = Number(process.env.SERVERS ?? 4)
const SECONDS = Number(process.env.SECONDS ?? 30)
const WARMUP_MS = 2000
const LATE_MS = 100

const ports = await Promise.all(Array.from({length: SERVERS}, () => freePort()))
// Constant answers, so the output never changes and no write is due after the first.
const serverScript = `
const http = require('node:http')
for (const port of ${JSON.stringify(ports)}) {
  http.createServer((req, res) => { res.writeHead(200, {'content-type': 'text/plain'}); res.end('ok') }).listen(port, '127.0.0.1')
}
process.stdout.write('ready\\n')
`
const servers = spawn(process.execPath, ['-e', serverScript], {stdio: ['ignore', 'pipe', 'inherit']})
await new Promise<void>((resolve) => servers.stdout!.once('data', () => resolve()))

const etcd = await startEtcd({name: 'bench-health'})
try {
  const keys = new Keys()
  const store = await openStore({endpoints: [etcd.endpoint], deadlineMs: 30_000})
  const now = new Date()
  // Put directly: the registrations are the input here, not what is measured.
  for (let start = 0; start < CHECKS; start += 200) {
    await Promise.all(
      Array.from({length: Math.min(200, CHECKS - start)}, (_, j) => {
        const i = start + j
        const port = ports[i % ports.length]
        const {registration} = planRegistration(
          {name: 'bench', id: `b-${i}`, namespace: 'default', address: '127.0.0.1', port, protocol: 'tcp', tags: [], meta: [], weight: 1, node: 'bench',
            check: {http: `http://127.0.0.1:${port}/health/${i}`, interval: '1s', timeout: '1s'}},
          now,
        )
        return store.put(keys.service('default', 'bench', registration.id), JSON.stringify(registration))
      }),
    )
  }

  const writes: number[] = []
  const listing = await store.list(keys.healthPrefix())
  const watch = await store.watchPrefix(keys.healthPrefix(), listing.revision + 1, {
    onEvents: (events) => {
      for (const e of events) if (e.type === 'put') writes.push(performance.now())
    },
    onResync: () => {},
  })

  let measuring = false
  let started = 0
  let late = 0
  const lateness: number[] = []
  const prober = await Prober.start(store, keys, {
    node: 'bench',
    concurrency: 256,
    enableExecChecks: false,
    leaseTtlSeconds: 10,
    logger: silentLogger,
    onProbeStart: (lateMs) => {
      if (!measuring) return
      started++
      if (lateMs > LATE_MS) late++
      if (started % 50 === 0) lateness.push(lateMs)
    },
  })
  const progress = process.env.PROGRESS ? setInterval(() => console.error(JSON.stringify(prober.stats())), 1000) : undefined
  // Warm-up: every instance's first result is written once (none -> passing); measure
  // only once those writes are done and seen by the watch, and the first storm of
  // new connections has drained.
  const warmupStarted = performance.now()
  for (;;) {
    await new Promise((r) => setTimeout(r, 250))
    const s = prober.stats()
    const settled = s.pendingWrites === 0 && s.queued === 0 && writes.length >= s.writes && s.writes >= CHECKS
    if (settled || performance.now() - warmupStarted > 60_000) break
  }
  await new Promise((r) => setTimeout(r, WARMUP_MS))
  const warmupS = (performance.now() - warmupStarted) / 1000
  const writesAtStart = prober.stats().writes
  const probesBefore = prober.stats().probes
  const cpuBefore = process.cpuUsage()
  const t0 = performance.now()
  measuring = true
  await new Promise((r) => setTimeout(r, SECONDS * 1000))
  measuring = false
  clearInterval(progress)
  const elapsedS = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  const probes = prober.stats().probes - probesBefore
  const windowWrites = writes.filter((t) => t >= t0 && t <= t0 + elapsedS * 1000).length
  await prober.stop({revoke: true})
  await watch.close()
  await store.close()

  const checksPerSecond = probes / elapsedS
  const lateShare = (100 * late) / Math.max(started, 1)
  const cpuPercent = (100 * (cpu.user + cpu.system)) / 1e6 / elapsedS
  const writesPerSecond = windowWrites / elapsedS
  lateness.sort((a, b) => a - b)
  report(
    'health',
    [
      {metric: 'checks', value: CHECKS},
      {metric: 'measured for', value: elapsedS, unit: 's'},
      {metric: 'checks per second', value: checksPerSecond, unit: '/s', target: '>= 1900', met: checksPerSecond >= 1900},
      {metric: `started > ${LATE_MS} ms late`, value: lateShare, unit: '%', target: '< 1', met: lateShare < 1},
      {metric: 'lateness p50 (sampled)', value: lateness[Math.floor(lateness.length / 2)] ?? NaN, unit: 'ms'},
      {metric: 'lateness p99 (sampled)', value: lateness[Math.floor(lateness.length * 0.99)] ?? NaN, unit: 'ms'},
      {metric: 'prober CPU (one core = 100)', value: cpuPercent, unit: '%', target: '< 50', met: cpuPercent < 50},
      {metric: 'etcd writes per second, steady', value: writesPerSecond, unit: '/s', target: '0', met: windowWrites === 0},
      {metric: 'etcd writes during warm-up (first results)', value: writesAtStart},
      {metric: 'warm-up', value: warmupS, unit: 's'},
    ],
    {checksPerSecond, lateShare, cpuPercent, writesPerSecond},
  )
} finally {
  servers.kill('SIGTERM')
  await etcd.destroy()
}
