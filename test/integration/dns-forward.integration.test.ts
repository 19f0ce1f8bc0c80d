import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {readFileSync} from 'node:fs'
import {openStore} from '../../src/store/index.js'
import type {Store} from '../../src/store/store.js'
import {cliEnv, runCli} from '../helpers/cli.js'
import {type DnsServer, dig, rcodeOf, startDnsServer} from '../helpers/dns-server.js'
import {startDnsmasq} from '../helpers/dnsmasq.js'
import {startFakeUpstream} from '../helpers/fake-upstream.js'
import {waitFor} from '../helpers/poll.js'
import {freePort} from '../helpers/ports.js'
import {uniquePrefixes, useEtcd} from '../helpers/shared-etcd.js'

const short = (text: string) => text.split('\n').filter(Boolean)

describe('cnet dns serve forwarding', () => {
  const etcd = useEtcd('dnsfwd')
  const prefixes = uniquePrefixes('dnsfwd')
  let store: Store
  let upstream: Awaited<ReturnType<typeof startDnsmasq>> | undefined
  const servers: DnsServer[] = []

  beforeAll(async () => {
    store = await openStore({endpoints: [etcd().endpoint]})
  })
  afterAll(async () => {
    for (const server of servers) await server.stop()
    await upstream?.stop()
    await store.close()
  })

  it('forwards names outside the zone, then serves them stale with SERVFAIL only for uncached names once the upstream dies', async () => {
    const upstreamPort = await freePort()
    upstream = await startDnsmasq(upstreamPort, {'app.example.test': '192.0.2.7', 'other.example.test': '192.0.2.8'})
    const port = await freePort()
    const server = await startDnsServer(['--upstream', `127.0.0.1:${upstreamPort}`], cliEnv(etcd().endpoint, prefixes), port)
    servers.push(server)
    expect(short(await dig(port, ['+short', 'app.example.test']))).toEqual(['192.0.2.7'])
    expect(short(await dig(port, ['+short', '+tcp', 'app.example.test']))).toEqual(['192.0.2.7'])
    expect(rcodeOf(await dig(port, ['missing.example.test']))).toBe('NXDOMAIN')
    // the cached answer, asked in another spelling, comes back in that spelling (DNS 0x20)
    for (const name of ['APP.example.TEST', 'aPp.ExAmPlE.test']) {
      expect(await dig(port, [name, 'A'])).toMatch(new RegExp(`^;${name.replace(/\./g, '\\.')}\\.\\s+IN\\s+A$`, 'm'))
    }
    await upstream.stop()
    upstream = undefined
    // An answer, not dig's own timeout: SERVFAIL within the forward timeout (2 s). Not
    // bounded by this process's clock, which a loaded machine stretches by seconds.
    expect(rcodeOf(await dig(port, ['+time=5', '+tries=1', 'other.example.test']))).toBe('SERVFAIL')
    // cached answer still served (fresh or stale) while every upstream is down
    expect(short(await dig(port, ['+short', '+time=5', 'app.example.test']))).toEqual(['192.0.2.7'])
  }, 30_000)

  it('counts cached TTLs down, and serves an expired answer with TTL 30 (RFC 8767) when every upstream fails', async () => {
    const upstreamPort = await freePort()
    const own = await startDnsmasq(upstreamPort, {'short.example.test': '192.0.2.9'}, {localTtl: 5})
    const port = await freePort()
    const server = await startDnsServer(['--upstream', `127.0.0.1:${upstreamPort}`], cliEnv(etcd().endpoint, prefixes), port)
    servers.push(server)
    const ttl = async () => Number(short(await dig(port, ['+noall', '+answer', '+time=5', 'short.example.test']))[0]?.split(/\s+/)[1])
    const firstAsked = Date.now()
    expect(await ttl()).toBe(5)
    const cached = Date.now()
    await new Promise((r) => setTimeout(r, 2100))
    const asked = Date.now()
    const aged = await ttl()
    const answered = Date.now()
    // The server counts whole seconds from when it cached the answer (between firstAsked
    // and cached) to when it read the second query (between asked and answered). The
    // bounds come from this process's clock, so a loaded machine that delays dig or the
    // timer moves them instead of failing the test; at least 2.1 s passed, so it counted down.
    expect(aged).toBeGreaterThanOrEqual(5 - Math.floor((answered - firstAsked) / 1000))
    expect(aged).toBeLessThanOrEqual(5 - Math.floor((asked - cached) / 1000))
    expect(aged).toBeLessThanOrEqual(3)
    await own.stop()
    await new Promise((r) => setTimeout(r, 3500)) // past the 5 s TTL
    expect(short(await dig(port, ['+noall', '+answer', '+time=5', 'short.example.test']))[0]).toMatch(/^short\.example\.test\.\s+30\s+IN\s+A\s+192\.0\.2\.9$/)
  }, 30_000)

  it('fails over to the next upstream when the first is dead', async () => {
    const upstreamPort = await freePort()
    const live = await startDnsmasq(upstreamPort, {'failover.example.test': '192.0.2.10'})
    // Dead but holding its port: it reads each query and never answers, so a try costs the
    // whole forward timeout, and it counts the names it was asked.
    const dead = await startFakeUpstream()
    dead.silent = true
    try {
      const port = await freePort()
      const server = await startDnsServer(['--upstream', `127.0.0.1:${dead.port}`, '--upstream', `127.0.0.1:${upstreamPort}`], cliEnv(etcd().endpoint, prefixes), port)
      servers.push(server)
      expect(short(await dig(port, ['+short', '+time=5', 'failover.example.test']))).toEqual(['192.0.2.10'])
      expect(dead.names).toContain('failover.example.test')
      // The dead one is tried last from then on: the next name is never sent to it. (Its
      // count, not the time taken, which a loaded machine stretches as much as a timeout.)
      expect(rcodeOf(await dig(port, ['+time=5', 'nothing.example.test']))).toBe('NXDOMAIN')
      expect(dead.names).not.toContain('nothing.example.test')
    } finally {
      await live.stop()
      await dead.close()
    }
  }, 30_000)

  it('answers from two worker processes, aggregates their metrics and stops cleanly on SIGTERM', async () => {
    const [port, metrics, ready] = [await freePort(), await freePort(), await freePort()]
    const server = await startDnsServer(['--upstream', '127.0.0.1:9', '--workers', '2', '--metrics', `127.0.0.1:${metrics}`, '--ready', `127.0.0.1:${ready}`], cliEnv(etcd().endpoint, prefixes), port)
    servers.push(server)
    for (let i = 0; i < 6; i++) expect(short(await dig(port, ['+short', 'dns-version.cluster.local', 'TXT']))[0]).toMatch(/cnet-dns/)
    expect(short(await dig(port, ['+short', '+tcp', 'dns-version.cluster.local', 'TXT']))[0]).toMatch(/cnet-dns/)
    expect((await fetch(`http://127.0.0.1:${ready}/ready`)).status).toBe(200)
    const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text()
    expect(text).toMatch(/cnet_dns_requests_total\{[^}]*proto="udp"[^}]*type="TXT"\} 6/)
    expect(text).toMatch(/cnet_dns_request_duration_seconds_count\{[^}]*\} 7/)
    expect(text.match(/^cnet_build_info\{.*\} (\d+)$/m)?.[1]).toBe('1') // one build, however many workers

    // The first worker starts alone, the second once it serves; both are up soon after.
    const {execa} = await import('execa')
    const children = async () => (await execa('pgrep', ['-P', String(server.child.pid)], {reject: false})).stdout.split('\n').filter(Boolean).map(Number)
    const workers = await waitFor('two workers', async () => ((await children()).length === 2 ? children() : undefined), {timeoutMs: 10_000})
    for (let i = 0; i < 100 && !server.stderr().includes('every dns worker serving'); i++) await new Promise((r) => setTimeout(r, 50))
    expect(server.stderr()).toMatch(/every dns worker serving .*workers=2/)
    expect(await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text()).toMatch(/^cnet_dns_workers_serving 2$/m)
    // ps names them by what they serve.
    expect((await execa('ps', ['-o', 'args=', '-p', workers.join(',')])).stdout.split('\n')).toEqual(['cnet dns serve (worker)', 'cnet dns serve (worker)'])
    // and start with the memory settings that let them give back what a big listing passed through (src/dns/worker-memory.ts)
    for (const pid of workers) {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')
      // glibc leaves only the first tunable visible here (dns-worker-memory.integration.test.ts checks what they do)
      expect(environ).toContainEqual(expect.stringMatching(/^GLIBC_TUNABLES=(.*:)?glibc\.malloc\.mmap_threshold=1048576$/))
      expect(environ).toContainEqual(expect.stringMatching(/^NODE_OPTIONS=(.* )?--max-semi-space-size=2$/))
    }

    // a worker that dies is started again (on the retry policy), and the other answers meanwhile
    process.kill(workers[0]!, 'SIGKILL')
    for (let i = 0; i < 100 && !server.stderr().includes('dns worker exited; starting another'); i++) await new Promise((r) => setTimeout(r, 20))
    expect(server.stderr()).toMatch(/dns worker exited; starting another .*signal=SIGKILL .*inMs=\d+ crashesInARow=1/)
    expect((await fetch(`http://127.0.0.1:${ready}/ready`)).status).toBe(200)
    for (let i = 0; i < 4; i++) expect(short(await dig(port, ['+short', 'dns-version.cluster.local', 'TXT']))[0]).toMatch(/cnet-dns/)
    const now = await waitFor('the dead worker replaced', async () => {
      const pids = await children()
      return pids.length === 2 && !pids.includes(workers[0]!) ? pids : undefined
    }, {timeoutMs: 10_000})
    expect(now).not.toContain(workers[0])
    for (let i = 0; i < 4; i++) expect(short(await dig(port, ['+short', 'dns-version.cluster.local', 'TXT']))[0]).toMatch(/cnet-dns/)
    expect(await server.stop()).toBe(0)
  }, 30_000)

  it('workers that cannot serve each say why in one line and exit with its code; a TLS file it cannot read is told once, before any worker', async () => {
    const dgram = await import('node:dgram')
    const port = await freePort()
    const taken = dgram.createSocket('udp4')
    await new Promise<void>((resolve) => taken.bind(port, '127.0.0.1', resolve))
    try {
      const busy = await runCli(['dns', 'serve', '--workers', '2', '--listen', `127.0.0.1:${port}`, '--upstream', '127.0.0.1:9'], {env: cliEnv(etcd().endpoint, prefixes), timeoutMs: 30_000})
      expect(busy.exitCode).toBe(1)
      const lines = busy.stderr.split('\n').filter(Boolean)
      expect(lines.filter((l) => l === `cnet: dns: cannot listen on 127.0.0.1:${port}: address already in use`).length).toBeGreaterThanOrEqual(2)
      expect(busy.stderr).toMatch(/dns worker exited; starting another worker=1 code=1 /)
      expect(lines.at(-1)).toBe('cnet: dns: every worker exited before serving (their errors are above)')
    } finally {
      taken.close()
    }
    const tls = await runCli(['dns', 'serve', '--workers', '2', '--listen', `127.0.0.1:${port}`, '--upstream', '127.0.0.1:9', '--etcd-cafile', '/nonexistent/ca.crt'], {env: cliEnv(etcd().endpoint, prefixes)})
    expect([tls.exitCode, tls.stderr]).toEqual([2, 'cnet: --etcd-cafile: cannot read /nonexistent/ca.crt: ENOENT\n'])
  }, 60_000)

  // An etcd that takes the connection and never answers: every call waits for its deadline
  // (CNET_ETCD_TIMEOUT, 30 s here). Stopped as it starts, the server must not wait for them:
  // the bound below is a third of that deadline, far from what a busy machine adds to a stop.
  it.each([1, 2])('with %i worker(s), stopped while etcd does not answer its first reads, exits 0 at once and says nothing wrong', async (workers) => {
    const net = await import('node:net')
    const {spawn} = await import('node:child_process')
    const {CLI} = await import('../helpers/cli.js')
    const held: import('node:net').Socket[] = []
    const silent = net.createServer((socket) => held.push(socket.on('error', () => {})))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()))
    const endpoint = `http://127.0.0.1:${(silent.address() as import('node:net').AddressInfo).port}`
    const child = spawn(process.execPath, [CLI, 'dns', 'serve', '--listen', `127.0.0.1:${await freePort()}`, '--upstream', '127.0.0.1:9', '--workers', String(workers)], {env: {...process.env, NO_COLOR: '1', ...cliEnv(endpoint, prefixes), CNET_ETCD_TIMEOUT: '30s'}, stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr!.on('data', (d) => (stderr += d))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    try {
      // the process (or its worker) has connected and is waiting on its reads
      await waitFor('a connection to etcd', () => held.length > 0, {timeoutMs: 10_000, intervalMs: 10})
      await new Promise((r) => setTimeout(r, 300))
      const signalled = Date.now()
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
      // well before the reads' 30 s deadline
      expect(Date.now() - signalled).toBeLessThan(10_000)
      expect(stderr).not.toMatch(/unreachable|serving DNS/)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
      for (const socket of held) socket.destroy()
      silent.close()
    }
  }, 45_000)

  it('starts while etcd is unreachable: forwards other names, SERVFAIL for the zone, then serves it once etcd answers', async () => {
    const {startEtcd} = await import('../helpers/etcd.js')
    const own = await startEtcd({name: 'dnslate'})
    const ownStore = await openStore({endpoints: [own.endpoint]})
    const {servicesFixture} = await import('../helpers/services-fixture.js')
    await servicesFixture(ownStore, prefixes).putInstance({id: 'a', name: 'late', address: '10.9.0.2'})
    await ownStore.close()
    await own.stop()
    const upstreamPort = await freePort()
    const live = await startDnsmasq(upstreamPort, {'up.example.test': '192.0.2.11'})
    try {
      const [port, ready] = [await freePort(), await freePort()]
      const server = await startDnsServer(['--upstream', `127.0.0.1:${upstreamPort}`, '--allow-recursion', '127.0.0.0/8', '--ready', `127.0.0.1:${ready}`], {...cliEnv(own.endpoint, prefixes), CNET_ETCD_TIMEOUT: '1s'}, port)
      servers.push(server)
      expect(short(await dig(port, ['+short', 'up.example.test']))).toEqual(['192.0.2.11'])
      expect(rcodeOf(await dig(port, ['late.default.svc.cluster.local']))).toBe('SERVFAIL')
      expect((await fetch(`http://127.0.0.1:${ready}/ready`)).status).toBe(503)
      await own.start()
      await own.waitReady()
      let answer: string[] = []
      for (let i = 0; i < 100 && answer.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 100))
        answer = short(await dig(port, ['+short', 'late.default.svc.cluster.local']))
      }
      expect(answer).toEqual(['10.9.0.2'])
      expect((await fetch(`http://127.0.0.1:${ready}/ready`)).status).toBe(200)
    } finally {
      await live.stop()
      await own.destroy()
    }
  }, 40_000)

  it('refuses recursion for a client outside --allow-recursion, yet answers its zone', async () => {
    const port = await freePort()
    const server = await startDnsServer(['--upstream', '127.0.0.1:9', '--allow-recursion', '10.0.0.0/8'], cliEnv(etcd().endpoint, prefixes), port)
    servers.push(server)
    expect(rcodeOf(await dig(port, ['example.com']))).toBe('REFUSED')
    expect(rcodeOf(await dig(port, ['dns-version.cluster.local', 'TXT']))).toBe('NOERROR')
  })

  it('serves /health, /ready and CoreDNS-style /metrics', async () => {
    const [port, health, ready, metrics] = [await freePort(), await freePort(), await freePort(), await freePort()]
    const server = await startDnsServer(
      ['--upstream', '127.0.0.1:9', '--health', `127.0.0.1:${health}`, '--ready', `127.0.0.1:${ready}`, '--metrics', `127.0.0.1:${metrics}`, '--log-queries'],
      cliEnv(etcd().endpoint, prefixes),
      port,
    )
    servers.push(server)
    await dig(port, ['dns-version.cluster.local', 'TXT'])
    await dig(port, ['dns-version.cluster.local', 'TXT'])
    expect((await fetch(`http://127.0.0.1:${health}/health`)).status).toBe(200)
    expect((await fetch(`http://127.0.0.1:${ready}/ready`)).status).toBe(200)
    const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text()
    expect(text).toMatch(/cnet_dns_requests_total\{server="[^"]+",zone="cluster.local",proto="udp",family="1",type="TXT"\} 2/)
    expect(text).toMatch(/cnet_dns_responses_total\{[^}]*rcode="NOERROR"\} 2/)
    expect(text).toMatch(/cnet_dns_cache_hits_total 1/)
    expect(text).toMatch(/cnet_dns_request_duration_seconds_bucket/)
    expect(server.stderr()).toMatch(/\[INFO\] 127\.0\.0\.1:\d+ - \d+ "TXT IN dns-version\.cluster\.local\. udp \d+ false 1232" NOERROR qr,aa,rd \d+ [\d.]+s/)
  })

  it('reports not ready while etcd is unreachable and keeps answering from what it knew', async () => {
    const {startEtcd} = await import('../helpers/etcd.js')
    const own = await startEtcd({name: 'dnsdown'})
    const ownStore = await openStore({endpoints: [own.endpoint]})
    const {servicesFixture} = await import('../helpers/services-fixture.js')
    await servicesFixture(ownStore, prefixes).putInstance({id: 'a', name: 'kept', address: '10.9.0.1'})
    await ownStore.close()
    const [port, ready] = [await freePort(), await freePort()]
    const server = await startDnsServer(['--upstream', '127.0.0.1:9', '--ready', `127.0.0.1:${ready}`], cliEnv(own.endpoint, prefixes), port)
    servers.push(server)
    expect((await fetch(`http://127.0.0.1:${ready}/ready`)).status).toBe(200)
    await own.destroy()
    let status = 200
    for (let i = 0; i < 100 && status === 200; i++) {
      status = (await fetch(`http://127.0.0.1:${ready}/ready`)).status
      if (status === 200) await new Promise((r) => setTimeout(r, 100))
    }
    expect(status).toBe(503)
    expect(await (await fetch(`http://127.0.0.1:${ready}/ready`)).text()).toMatch(/etcd unreachable/)
    expect(short(await dig(port, ['+short', 'kept.default.svc.cluster.local']))).toEqual(['10.9.0.1'])
  }, 30_000)
})
