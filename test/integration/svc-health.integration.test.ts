import {type ChildProcess, spawn} from 'node:child_process'
import {type Server, createServer} from 'node:http'
import {type Server as TcpServer, createServer as createTcpServer} from 'node:net'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {execa} from 'execa'
import {Prober} from '../../src/health/prober.js'
import {silentLogger} from '../../src/lib/log.js'
import {Keys, openStore} from '../../src/store/index.js'
import type {Store} from '../../src/store/store.js'
import {listInstances} from '../../src/svc/listing.js'
import type {HealthStatus} from '../../src/svc/model.js'
import {planRegistration} from '../../src/svc/registration-plan.js'
import {registerInstance} from '../../src/svc/registry.js'
import {CLI, cliEnv, runCli} from '../helpers/cli.js'
import {sleep} from '../helpers/etcd.js'
import {waitFor, waitUntil as until} from '../helpers/poll.js'
import {freePort} from '../helpers/ports.js'
import {servicesFixture} from '../helpers/services-fixture.js'
import {uniquePrefixes, useEtcd} from '../helpers/shared-etcd.js'

/** An HTTP server on loopback that answers with the given status (or never, for 'hang'). */
async function httpServer(port: number, answer: number | 'hang'): Promise<Server> {
  const server = createServer((req, res) => {
    if (answer === 'hang') return
    res.writeHead(answer, {'content-type': 'text/plain'})
    res.end(`status ${answer}`)
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return server
}
const closeHttp = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })

async function tcpServer(port: number): Promise<TcpServer> {
  const server = createTcpServer((socket) => socket.destroy())
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return server
}

function spawnCli(args: string[], env: Record<string, string>): {child: ChildProcess; stdout: () => string; exited: Promise<number | null>} {
  const child = spawn(process.execPath, [CLI, ...args], {env: {...process.env, NO_COLOR: '1', ...env}, stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', () => {})
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {child, stdout: () => out, exited}
}

const BASE = {namespace: 'default', protocol: 'tcp', tags: [], meta: [], weight: 1, node: 'n1'}

describe('services and health against a real etcd', () => {
  const etcd = useEtcd('svc')
  let store: Store
  const children: ChildProcess[] = []
  beforeAll(async () => {
    store = await openStore({endpoints: [etcd().endpoint]})
  })
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    await store?.close()
  })

  const setup = () => {
    const prefixes = uniquePrefixes('svc')
    return {prefixes, keys: new Keys(prefixes), env: cliEnv(etcd().endpoint, prefixes)}
  }
  const statusOf = async (keys: Keys, id: string): Promise<HealthStatus | undefined> => (await listInstances(store, keys)).find((r) => r.id === id)?.status

  it('registers, keeps health on re-registering, deregisters; bad input gives one line, exit 2 and writes nothing', async () => {
    const {prefixes, keys, env} = setup()
    const register = (extra: string[]) => runCli(['svc', 'register', 'web', '--id', 'web-1', '--address', '10.5.52.7', '--port', '8080', '--node', 'n1', '--json', ...extra], {env})
    const first = await register(['--check-tcp', '10.5.52.7:8080', '--initial-status', 'passing', '--tag', 'v1', '--meta', 'version=1'])
    expect(first.exitCode).toBe(0)
    expect(JSON.parse(first.stdout)).toMatchObject({action: 'created', initialStatus: 'passing', key: `${prefixes.cnetPrefix}/services/default/web/web-1`})
    const stored = JSON.parse((await store.get(keys.service('default', 'web', 'web-1')))!.value)
    expect(stored).toMatchObject({id: 'web-1', name: 'web', namespace: 'default', address: '10.5.52.7', port: 8080, tags: ['v1'], meta: {version: '1'}, node: 'n1', check: {type: 'tcp', address: '10.5.52.7:8080', intervalMs: 10_000, timeoutMs: 5000}})
    expect(await statusOf(keys, 'web-1')).toBe('passing')

    // A prober said warning since; registering again (even with --initial-status) keeps it.
    const warning = {status: 'warning', output: 'slow', since: new Date().toISOString(), checkedAt: new Date().toISOString(), prober: 'n1'}
    await store.put(keys.health('default', 'web', 'web-1'), JSON.stringify(warning))
    const again = await register(['--check-tcp', '10.5.52.7:8080', '--initial-status', 'passing', '--tag', 'v2'])
    expect(JSON.parse(again.stdout)).toMatchObject({action: 'updated', healthKept: true, initialStatus: null})
    expect(JSON.parse((await store.get(keys.health('default', 'web', 'web-1')))!.value)).toEqual(warning)
    const same = await register(['--check-tcp', '10.5.52.7:8080', '--tag', 'v2'])
    expect(JSON.parse(same.stdout)).toMatchObject({action: 'unchanged', healthKept: true})
    // Ids are unique within a namespace.
    const clash = await runCli(['svc', 'register', 'api', '--id', 'web-1', '--address', '10.5.52.8', '--port', '80'], {env})
    expect(clash.exitCode).toBe(5)

    const before = (await store.list(`${prefixes.cnetPrefix}/`)).items.map((i) => `${i.key}=${i.value}`).sort()
    const bad: [string[], RegExp][] = [
      [['Web', '--address', '10.0.0.1', '--port', '80'], /NAME: "Web" is not a DNS label/],
      [['db', '--address', '10.0.0.300', '--port', '80'], /--address: "10.0.0.300" is not an IP address/],
      [['db', '--address', '10.0.0.1', '--port', '80', '--check-http', 'localhost:80'], /--check-http: "localhost:80" must be an http/],
      [['db', '--address', '10.0.0.1', '--port', '80', '--check-tcp', '10.0.0.1:80', '--interval', '2s', '--timeout', '5s'], /--timeout: 5s is longer than the interval 2s/],
      [['db', '--address', '10.0.0.1', '--port', '80', '--lease-ttl', 'forever'], /--lease-ttl: "forever" is not a duration/],
    ]
    const results = await Promise.all(bad.map(([args]) => runCli(['svc', 'register', ...args], {env})))
    for (const [i, [, message]] of bad.entries()) {
      const result = results[i]
      expect(result.exitCode).toBe(2)
      expect(result.stderr).toMatch(message)
      expect(result.stderr.trim().split('\n')).toHaveLength(1)
    }
    const after = (await store.list(`${prefixes.cnetPrefix}/`)).items.map((i) => `${i.key}=${i.value}`).sort()
    expect(after).toEqual(before)

    const gone = await runCli(['svc', 'deregister', 'web-1', '--json'], {env})
    expect(gone.exitCode).toBe(0)
    expect(JSON.parse(gone.stdout)).toMatchObject({id: 'web-1', name: 'web', healthRemoved: true})
    expect((await store.list(`${prefixes.cnetPrefix}/`)).items).toHaveLength(0)
    expect((await runCli(['svc', 'deregister', 'web-1'], {env})).exitCode).toBe(3)
  })

  it('prober: critical -> passing -> critical as a server starts and stops, honouring thresholds, writing only on change', async () => {
    const {keys} = setup()
    const port = await freePort()
    const plan = planRegistration(
      {name: 'web', id: 'web-1', namespace: 'default', address: '127.0.0.1', port, protocol: 'tcp', tags: [], meta: [], weight: 1, node: 'n1',
        check: {http: `http://127.0.0.1:${port}/health`, interval: '1s', timeout: '500ms', successBeforePassing: 2, failuresBeforeCritical: 2}},
      new Date(),
    )
    await registerInstance(store, keys, plan)
    const seen: {status: HealthStatus; at: number}[] = []
    const listing = await store.list(keys.healthPrefix())
    const watch = await store.watchPrefix(keys.healthPrefix(), listing.revision + 1, {
      onEvents: (events) => {
        for (const e of events) if (e.type === 'put') seen.push({status: JSON.parse(e.value).status, at: Date.now()})
      },
      onResync: () => {},
    })
    const prober = await Prober.start(store, keys, {node: 'n1', concurrency: 16, enableExecChecks: false, leaseTtlSeconds: 5, logger: silentLogger})
    let server: Server | undefined
    try {
      await until('critical', () => statusOf(keys, 'web-1'), (s) => s === 'critical')
      await until('a first critical record', async () => seen.length, (n) => n >= 1)
      const started = Date.now()
      server = await httpServer(port, 200)
      await until('passing', async () => seen.at(-1)?.status, (s) => s === 'passing')
      // Two successes a second apart: the first alone must not have turned it passing.
      expect(seen.at(-1)!.at - started).toBeGreaterThan(900)
      const record = JSON.parse((await store.get(keys.health('default', 'web', 'web-1')))!.value)
      expect(record).toMatchObject({status: 'passing', prober: 'n1', output: expect.stringContaining('200 OK Output: status 200')})
      // Steady: two more probes, both passing, write nothing.
      const writes = seen.length
      // Counted once etcd's answer to the put is back (the watch may deliver the record first).
      await waitFor('the passing write counted', () => prober.stats().pendingWrites === 0)
      const {probes, writes: written} = prober.stats()
      await waitFor('two more probes, written or not', () => {
        const now = prober.stats()
        return now.probes >= probes + 2 && now.running === 0 && now.pendingWrites === 0
      })
      expect(prober.stats().writes).toBe(written)
      expect(seen.length).toBe(writes)
      const stopped = Date.now()
      await closeHttp(server)
      server = undefined
      await until('critical again', async () => seen.at(-1)?.status, (s) => s === 'critical')
      expect(seen.at(-1)!.at - stopped).toBeGreaterThan(900)
      expect(seen.map((s) => s.status)).toEqual(['critical', 'passing', 'critical'])
      // The prober counts a write when etcd's answer to its put comes back, which may be
      // after the watch has delivered the record this test saw.
      await waitFor('the third write counted', () => prober.stats().writes >= 3 && prober.stats().pendingWrites === 0)
      expect(prober.stats().writes).toBe(3)
    } finally {
      if (server) await closeHttp(server)
      await prober.stop({revoke: true})
      await watch.close()
    }
  }, 30_000)

  it('prober: an instance registered while it runs starts from its --initial-status, and its thresholds count from there', async () => {
    const {keys} = setup()
    const prober = await Prober.start(store, keys, {node: 'n1', concurrency: 16, enableExecChecks: false, leaseTtlSeconds: 5, logger: silentLogger})
    const seen: {status: HealthStatus; probes: number}[] = []
    const listing = await store.list(keys.healthPrefix())
    const watch = await store.watchPrefix(keys.healthPrefix(), listing.revision + 1, {
      onEvents: (events) => {
        for (const e of events) if (e.type === 'put') seen.push({status: JSON.parse(e.value).status, probes: prober.stats().probes})
      },
      onResync: () => {},
    })
    try {
      const dead = await freePort()
      const plan = planRegistration(
        {name: 'late', id: 'late-1', namespace: 'default', address: '127.0.0.1', port: dead, protocol: 'tcp', tags: [], meta: [], weight: 1, node: 'n1', initialStatus: 'passing',
          check: {tcp: `127.0.0.1:${dead}`, interval: '1s', timeout: '500ms', failuresBeforeCritical: 2}},
        new Date(),
      )
      await registerInstance(store, keys, plan)
      await until('critical', async () => seen.at(-1)?.status, (status) => status === 'critical', 10_000)
      // passing as registered; one failed probe is below the threshold; the second turns it critical
      expect(seen[0]!.status).toBe('passing')
      expect(seen.at(-1)!.probes).toBeGreaterThanOrEqual(2)
    } finally {
      await prober.stop({revoke: true})
      await watch.close()
    }
  }, 30_000)

  it('prober: --deregister-critical-after removes an instance critical for that long, and only that one', async () => {
    const {keys} = setup()
    const closed = await freePort()
    const openPort = await freePort()
    const server = await tcpServer(openPort)
    const register = (id: string, port: number) =>
      registerInstance(
        store,
        keys,
        planRegistration(
          {name: 'db', id, namespace: 'default', address: '127.0.0.1', port, protocol: 'tcp', tags: [], meta: [], weight: 1, node: 'n3',
            check: {tcp: `127.0.0.1:${port}`, interval: '1s', timeout: '500ms', deregisterCriticalAfter: '2s'}},
          new Date(),
          {minDeregisterAfterMs: 1000},
        ),
      )
    await register('db-down', closed)
    await register('db-up', openPort)
    const prober = await Prober.start(store, keys, {node: 'n3', concurrency: 4, enableExecChecks: false, leaseTtlSeconds: 5, logger: silentLogger})
    try {
      await until('db-up passing', () => statusOf(keys, 'db-up'), (s) => s === 'passing')
      const critical = await until('db-down critical', () => store.get(keys.health('default', 'db', 'db-down')), (record) => record !== null && JSON.parse(record.value).status === 'critical')
      const criticalSince = Date.parse(JSON.parse(critical!.value).since)
      await until('db-down deregistered', async () => (await listInstances(store, keys)).some((r) => r.id === 'db-down'), (present) => !present, 15_000)
      // seen gone now, so removed no earlier than now: that is at least 2 s of critical
      expect(Date.now() - criticalSince).toBeGreaterThanOrEqual(2000)
      // the registration goes first; the prober then deletes the health record it wrote
      await until('db-down health record removed', () => store.get(keys.health('default', 'db', 'db-down')), (record) => record === null, 5000)
      expect(await statusOf(keys, 'db-up')).toBe('passing')
    } finally {
      await prober.stop({revoke: true})
      await new Promise((resolve) => server.close(resolve))
    }
  }, 30_000)

  it('prober: --deregister-critical-after removes a TTL-checked instance whose TTL ran out, and keeps one kept passing', async () => {
    const {keys, prefixes} = setup()
    const register = (id: string) =>
      registerInstance(
        store,
        keys,
        planRegistration(
          {name: 'job', id, namespace: 'default', address: '127.0.0.1', port: 80, protocol: 'tcp', tags: [], meta: [], weight: 1, node: 'n4', check: {ttl: '10s', deregisterCriticalAfter: '2s'}},
          new Date(),
          {minDeregisterAfterMs: 1000},
        ),
      )
    await register('job-silent')
    await register('job-alive')
    const fixture = servicesFixture(store, prefixes)
    await fixture.putHealth('default', 'job', 'job-alive', 'passing')
    const prober = await Prober.start(store, keys, {node: 'n4', concurrency: 4, enableExecChecks: false, leaseTtlSeconds: 5, logger: silentLogger})
    const started = Date.now()
    try {
      await until('job-silent deregistered', async () => (await listInstances(store, keys)).some((r) => r.id === 'job-silent'), (present) => !present, 15_000)
      // never passed, so critical from the start: removed no earlier than 2 s after
      expect(Date.now() - started).toBeGreaterThanOrEqual(2000)
      // Proves a negative: past another of job-alive's deadline checks (one a second), it is still there.
      await sleep(1200)
      expect((await listInstances(store, keys)).map((r) => r.id)).toEqual(['job-alive'])
    } finally {
      await prober.stop({revoke: true})
    }
  }, 30_000)

  it("prober: an instance moved to another node is no longer probed here, and the new node's record is left alone", async () => {
    const {keys} = setup()
    const port = await freePort()
    const plan = (node: string) =>
      planRegistration({name: 'mover', id: 'mover-1', namespace: 'default', address: '127.0.0.1', port, protocol: 'tcp', tags: [], meta: [], weight: 1, node, check: {tcp: `127.0.0.1:${port}`, interval: '1s', timeout: '500ms'}}, new Date())
    await registerInstance(store, keys, plan('n7'))
    const prober = await Prober.start(store, keys, {node: 'n7', concurrency: 4, enableExecChecks: false, leaseTtlSeconds: 5, logger: silentLogger})
    const healthKey = keys.health('default', 'mover', 'mover-1')
    try {
      await until('critical', () => statusOf(keys, 'mover-1'), (s) => s === 'critical')
      await registerInstance(store, keys, plan('n8'))
      await until('no longer probed here', async () => prober.stats().instances, (n) => n === 0)
      // The prober of the new node writes its record, under its own lease. (Written before
      // the move, it was this prober's to overwrite with its next result, once a second.)
      const theirLease = await store.grantLease(30)
      const theirs = JSON.stringify({status: 'passing', output: 'ok', since: new Date().toISOString(), checkedAt: new Date().toISOString(), prober: 'n8'})
      await store.put(healthKey, theirs, {lease: theirLease})
      // Proves a negative: for longer than a check interval (1 s) after it stopped probing, the record is not touched.
      await sleep(1200)
      expect((await store.get(healthKey))?.value).toBe(theirs)
      await store.revokeLease(theirLease)
    } finally {
      await prober.stop({revoke: true})
    }
  }, 30_000)

  it('prober: a timeout is enforced, 429 is warning, exec checks are refused without --enable-exec-checks', async () => {
    const {keys} = setup()
    const [hangPort, busyPort] = await Promise.all([freePort(), freePort()])
    const hang = await httpServer(hangPort, 'hang')
    const busy = await httpServer(busyPort, 429)
    const base = {namespace: 'default', address: '127.0.0.1', protocol: 'tcp', tags: [], meta: [], weight: 1, node: 'n1'}
    for (const [id, port, check] of [
      ['slow', hangPort, {http: `http://127.0.0.1:${hangPort}/`, interval: '1s', timeout: '300ms'}],
      ['busy', busyPort, {http: `http://127.0.0.1:${busyPort}/`, interval: '1s'}],
      ['script', 1, {exec: 'true', interval: '1s'}],
    ] as const) {
      await registerInstance(store, keys, planRegistration({...base, name: id, id, port, check: {...check}}, new Date()))
    }
    const prober = await Prober.start(store, keys, {node: 'n1', concurrency: 16, enableExecChecks: false, leaseTtlSeconds: 5, logger: silentLogger})
    try {
      const rows = await until(
        'three results',
        () => listInstances(store, keys),
        (r) => r.length === 3 && r.every((row) => row.prober === 'n1'),
      )
      const byId = Object.fromEntries(rows.map((r) => [r.id, r]))
      expect(byId.slow).toMatchObject({status: 'critical', output: `HTTP GET http://127.0.0.1:${hangPort}/: timed out after 300ms`})
      expect(byId.busy).toMatchObject({status: 'warning', output: expect.stringContaining('429 Too Many Requests')})
      expect(byId.script).toMatchObject({status: 'critical', output: expect.stringContaining('exec checks are disabled on this prober')})
    } finally {
      await prober.stop({revoke: true})
      await Promise.all([closeHttp(hang), closeHttp(busy)])
    }
    // One probe from the command line: exit 0 / 1 / 2 with the output on stdout.
    const env = setup().env
    const ok = await runCli(['health', 'check', '--exec', "sh -c 'echo fine'"], {env})
    expect([ok.exitCode, ok.stdout.trim()]).toEqual([0, 'passing: fine'])
    expect((await runCli(['health', 'check', '--exec', "sh -c 'exit 1'"], {env})).exitCode).toBe(1)
    const refused = await runCli(['health', 'check', '--tcp', `127.0.0.1:${hangPort}`, '--json'], {env})
    expect(refused.exitCode).toBe(2)
    expect(JSON.parse(refused.stdout)).toMatchObject({status: 'critical', output: expect.stringContaining('ECONNREFUSED')})
  }, 30_000)

  it('TTL checks pass while updated and expire when updates stop', async () => {
    const {keys, env} = setup()
    await registerInstance(store, keys, planRegistration({...BASE, name: 'batch', address: '10.0.0.9', port: 9000, check: {ttl: '1s'}}, new Date()))
    expect(await statusOf(keys, 'batch')).toBe('critical')
    const pass = await runCli(['health', 'pass', 'batch', '--note', 'run 42 done', '--json'], {env})
    expect(pass.exitCode).toBe(0)
    expect(JSON.parse(pass.stdout)).toMatchObject({status: 'passing', output: 'run 42 done', ttlSeconds: 1})
    expect(await statusOf(keys, 'batch')).toBe('passing')
    await until('the TTL to expire', () => statusOf(keys, 'batch'), (s) => s === 'critical', 5000)
    // pass on an instance without a TTL check is refused.
    await registerInstance(store, keys, planRegistration({...BASE, name: 'plain', address: '10.0.0.9', port: 80, check: {}}, new Date()))
    const wrong = await runCli(['health', 'warn', 'plain'], {env})
    expect(wrong.exitCode).toBe(2)
    expect(wrong.stderr).toMatch(/has no check, not a TTL check/)
  }, 30_000)

  it("a prober killed with SIGKILL: its statuses expire with its lease", async () => {
    const {keys, env} = setup()
    const port = await freePort()
    const server = await tcpServer(port)
    try {
      expect((await runCli(['svc', 'register', 'db', '--address', '127.0.0.1', '--port', String(port), '--check-tcp', `127.0.0.1:${port}`, '--interval', '1s', '--node', 'n9'], {env})).exitCode).toBe(0)
      const prober = spawnCli(['health', 'run', '--node', 'n9', '--lease-ttl', '1s', '--log-format', 'json'], env)
      children.push(prober.child)
      await until('passing', () => statusOf(keys, 'db'), (s) => s === 'passing', 10_000)
      prober.child.kill('SIGKILL')
      await prober.exited
      const killedAt = Date.now()
      await until('the record to expire', async () => store.get(keys.health('default', 'db', 'db')), (r) => r === null, 6000)
      expect(Date.now() - killedAt).toBeLessThan(5000)
      expect(await statusOf(keys, 'db')).toBe('critical')
    } finally {
      server.close()
    }
  }, 30_000)

  it('--lease-ttl registrations vanish after SIGKILL, and at once on SIGTERM', async () => {
    const {keys, env} = setup()
    await Promise.all(
      (['SIGKILL', 'SIGTERM'] as const).map(async (signal) => {
        const id = signal.toLowerCase()
        const key = keys.service('default', 'eph', id)
        const run = spawnCli(['svc', 'register', 'eph', '--id', id, '--address', '10.0.0.5', '--port', '80', '--lease-ttl', '1s', '--json'], env)
        children.push(run.child)
        await until('the registration', async () => run.stdout(), (out) => out.includes('}'))
        expect(JSON.parse(run.stdout())).toMatchObject({action: 'created', leaseTtlSeconds: 1})
        await sleep(2000) // proves a negative: twice the 1 s TTL, and the key is still there: the lease is being kept
        expect(await store.get(key)).not.toBeNull()
        run.child.kill(signal)
        const code = await run.exited
        if (signal === 'SIGTERM') {
          // Revoked before the process exits: gone at once, not when the TTL runs out.
          expect(code).toBe(0)
          expect(await store.get(key)).toBeNull()
        }
        await until('the key to vanish', async () => store.get(key), (v) => v === null, 5000)
      }),
    )
  }, 30_000)

  it('resolve: healthy instances only; round-robin rotates across calls; hash is stable', async () => {
    const {keys, env} = setup()
    const state = mkdtempSync(join(tmpdir(), 'cnet-state-'))
    for (const i of [1, 2, 3]) {
      const check = i === 3 ? {tcp: '127.0.0.1:1'} : {}
      await registerInstance(store, keys, planRegistration({...BASE, name: 'api', id: `api-${i}`, address: `10.0.0.${i}`, port: 80, check}, new Date()))
    }
    expect(await statusOf(keys, 'api-3')).toBe('critical')
    const rr = async () => (await runCli(['svc', 'resolve', 'api'], {env: {...env, XDG_STATE_HOME: state}})).stdout.trim()
    expect([await rr(), await rr(), await rr()]).toEqual(['10.0.0.1:80', '10.0.0.2:80', '10.0.0.1:80'])
    // The position is written by rename, never flushed: an fsync waits for whatever else the host is writing.
    const trace = join(state, 'strace.out')
    const traced = await execa('strace', ['-f', '-qq', '-e', 'trace=fsync,fdatasync,sync,syncfs,rename,renameat,renameat2', '-o', trace, CLI, 'svc', 'resolve', 'api'], {env: {...env, NO_COLOR: '1', XDG_STATE_HOME: state}, reject: false})
    expect(traced.stdout.trim()).toBe('10.0.0.2:80')
    const calls = readFileSync(trace, 'utf8')
    expect(calls).toMatch(/rename\w*\(.*resolve-positions\.json/)
    expect(calls).not.toMatch(/\b(fsync|fdatasync|sync|syncfs)\(/)
    rmSync(state, {recursive: true, force: true})
    const [hashed, none, noKey] = await Promise.all([
      runCli(['svc', 'resolve', 'api', '--strategy', 'hash', '--key', 'user-42', '--count', '5', '--json'], {env}),
      runCli(['svc', 'resolve', 'nothing'], {env}),
      runCli(['svc', 'resolve', 'api', '--strategy', 'hash'], {env}),
    ])
    const ids = (JSON.parse(hashed.stdout) as {id: string}[]).map((r) => r.id)
    expect(ids.sort()).toEqual(['api-1', 'api-2'])
    expect(none.exitCode).toBe(1)
    expect(none.stderr).toMatch(/nothing\.default: no instance is registered/)
    expect(noKey.exitCode).toBe(2)
    expect(noKey.stderr).toMatch(/--key: required with --strategy hash/)
  }, 30_000)
})
