import dgram from 'node:dgram'
import {readFileSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {Resolver} from 'node:dns/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {openStore} from '../../src/store/index.js'
import type {Store} from '../../src/store/store.js'
import {cliEnv, runCli} from '../helpers/cli.js'
import {type DnsServer, dig, rcodeOf, startDnsServer} from '../helpers/dns-server.js'
import {startDnsmasq} from '../helpers/dnsmasq.js'
import {waitFor} from '../helpers/poll.js'
import {freePort} from '../helpers/ports.js'
import {servicesFixture} from '../helpers/services-fixture.js'
import {uniquePrefixes, useEtcd} from '../helpers/shared-etcd.js'

const short = (text: string) => text.split('\n').filter(Boolean)

/**
 * `dns serve --config`: stub domains forwarded to their own upstream (real dnsmasq), hosts
 * entries, SIGHUP reloads (good and bad files), a dead upstream skipped, and every metric
 * name checked against docs/dns.md. Everything through dig or Node's resolver.
 */
describe('cnet dns serve with a config file', () => {
  const etcd = useEtcd('dnscfg')
  const prefixes = uniquePrefixes('dnscfg')
  const dir = mkdtempSync(join(tmpdir(), 'cnd-dnscfg-'))
  const config = join(dir, 'dns.json')
  const stops: (() => Promise<unknown>)[] = []
  let store: Store
  let server: DnsServer
  let port: number
  let metricsPort: number
  let upstreams: {main: number; corp: number; eu: number}

  beforeAll(async () => {
    store = await openStore({endpoints: [etcd().endpoint]})
    await servicesFixture(store, prefixes).putInstance({id: 'w1', name: 'web', address: '10.1.0.1', tags: ['canary']})
    upstreams = {main: await freePort(), corp: await freePort(), eu: await freePort()}
    // each upstream knows db.corp.example by another address, so the answer tells who was asked
    for (const [name, upstreamPort, last] of [['main', upstreams.main, 1], ['corp', upstreams.corp, 2], ['eu', upstreams.eu, 3]] as const) {
      const dnsmasq = await startDnsmasq(upstreamPort, {'db.corp.example': `192.0.2.${last}`, 'db.eu.corp.example': `198.51.100.${last}`, [`${name}.example.test`]: '203.0.113.1'})
      stops.push(() => dnsmasq.stop())
    }
    writeFileSync(
      config,
      JSON.stringify({
        upstream: [`127.0.0.1:${upstreams.main}`],
        forward: {'corp.example': `127.0.0.1:${upstreams.corp}`, 'eu.corp.example': [`127.0.0.1:${upstreams.eu}`]},
        hosts: {'gw.corp.example': ['192.0.2.254', 'fd00::254'], 'registry.internal': '10.0.0.20'},
        'log-queries': true,
      }),
    )
    port = await freePort()
    metricsPort = await freePort()
    server = await startDnsServer(['--config', config, '--metrics', `127.0.0.1:${metricsPort}`, '--log-format', 'json'], cliEnv(etcd().endpoint, prefixes), port)
    stops.unshift(() => server.stop())
  }, 60_000)

  afterAll(async () => {
    for (const stop of stops) await stop().catch(() => {})
    await store.deletePrefix(prefixes.cnetPrefix + '/').catch(() => {})
    await store.close()
    rmSync(dir, {recursive: true, force: true})
  })

  it('sends a stub domain to its own upstream, the longest domain winning, and the rest to the default', async () => {
    expect(short(await dig(port, ['+short', 'db.corp.example']))).toEqual(['192.0.2.2'])
    expect(short(await dig(port, ['+short', 'db.eu.corp.example']))).toEqual(['198.51.100.3'])
    expect(short(await dig(port, ['+short', 'main.example.test']))).toEqual(['203.0.113.1'])
    expect(rcodeOf(await dig(port, ['corp.example.test']))).toBe('NXDOMAIN') // not inside corp.example: the default upstream's answer
  })

  it('answers hosts entries authoritatively, A, AAAA and PTR', async () => {
    const a = await dig(port, ['gw.corp.example', 'A'])
    expect(a).toMatch(/flags: qr aa rd;/)
    expect(short(await dig(port, ['+short', 'gw.corp.example', 'A']))).toEqual(['192.0.2.254'])
    expect(short(await dig(port, ['+short', 'gw.corp.example', 'AAAA']))).toEqual(['fd00::254'])
    expect(short(await dig(port, ['+short', '-x', '192.0.2.254']))).toEqual(['gw.corp.example.'])
    expect(short(await dig(port, ['+short', '-x', 'fd00::254']))).toEqual(['gw.corp.example.'])
    const resolver = new Resolver()
    resolver.setServers([`127.0.0.1:${port}`])
    expect(await resolver.resolve4('registry.internal')).toEqual(['10.0.0.20'])
    expect(await resolver.resolve4('canary._tag.web.default.svc.cluster.local')).toEqual(['10.1.0.1'])
  })

  it('logs each query as JSON fields', async () => {
    await dig(port, ['+short', 'registry.internal'])
    const record = server
      .stderr()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((r) => r.msg === 'query' && r.name === 'registry.internal.')
      .at(-1) // dig's (Node's resolver asked before, without EDNS)
    expect(record).toMatchObject({component: 'dns/query', client: '127.0.0.1', type: 'A', class: 'IN', proto: 'udp', do: false, bufsize: 1232, rcode: 'NOERROR', flags: 'qr,aa,rd'})
    for (const field of ['port', 'id', 'size', 'rsize', 'duration']) expect(typeof record![field]).toBe('number')
  })

  it('reloads on SIGHUP without dropping a query, and keeps the running config when the file is bad', async () => {
    const resolver = new Resolver({timeout: 1000, tries: 1})
    resolver.setServers([`127.0.0.1:${port}`])
    let asked = 0
    const failures: string[] = []
    let asking = true
    const loop = (async () => {
      while (asking) {
        asked++
        await resolver.resolve4('web.default.svc.cluster.local').catch((e: Error) => failures.push(e.message))
      }
    })()
    try {
      await waitFor('queries answered before the reload', () => asked > 3)
      writeFileSync(config, JSON.stringify({upstream: [`127.0.0.1:${upstreams.main}`], forward: {'corp.example': `127.0.0.1:${upstreams.eu}`}, hosts: {'gw.corp.example': '192.0.2.253'}}))
      server.child.kill('SIGHUP')
      const answer = await waitFor('the reloaded hosts entry answered', async () => {
        const addresses = short(await dig(port, ['+short', 'gw.corp.example']))
        return addresses[0] === '192.0.2.253' && addresses
      }, {intervalMs: 20})
      expect(answer).toEqual(['192.0.2.253'])
      expect(short(await dig(port, ['+short', 'db.corp.example']))).toEqual(['192.0.2.3']) // the stub domain now goes to eu's upstream
      expect(short(await dig(port, ['+short', 'registry.internal']))).toEqual([]) // no longer a hosts entry, and no upstream knows it
      const reloadedAt = asked
      await waitFor('queries answered after the reload', () => asked > reloadedAt + 3)
    } finally {
      asking = false
      await loop
    }
    expect(asked).toBeGreaterThan(10)
    expect(failures).toEqual([])

    const linesBefore = server.stderr().split('\n').length
    writeFileSync(config, '{"upstream": [53]}')
    server.child.kill('SIGHUP')
    await waitFor('the failed reload logged', () => server.stderr().includes('reload failed'), {intervalMs: 20})
    const newLines = server.stderr().split('\n').slice(linesBefore - 1).filter((line) => line.includes('"level":"error"') || line.includes('"level":"warn"'))
    expect(newLines).toHaveLength(1)
    expect(JSON.parse(newLines[0]!)).toMatchObject({msg: 'reload failed: keeping the running config', error: expect.stringContaining('dns.json: upstream: expected a string or a list of strings')})
    expect(short(await dig(port, ['+short', 'gw.corp.example']))).toEqual(['192.0.2.253'])
    expect(server.child.exitCode).toBeNull()
  }, 30_000)

  it('exports every metric docs/dns.md lists, and no other', async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
    const scraped = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!))
    const doc = readFileSync(fileURLToPath(new URL('../../docs/dns.md', import.meta.url)), 'utf8')
    const section = doc.slice(doc.indexOf('## Metrics'), doc.indexOf('\n## ', doc.indexOf('## Metrics') + 1))
    const documented = [...section.matchAll(/^\| `([a-z_*]+)` \|/gm)].map((m) => m[1]!)
    const exact = documented.filter((name) => !name.endsWith('*'))
    const prefixes = documented.filter((name) => name.endsWith('*')).map((name) => name.slice(0, -1))
    expect(exact.length).toBeGreaterThanOrEqual(16)
    expect(prefixes).toEqual(['process_', 'nodejs_'])
    for (const name of exact) expect(scraped).toContain(name)
    for (const name of scraped) expect(exact.includes(name) || prefixes.some((p) => name.startsWith(p))).toBe(true)
    expect(text).toMatch(/cnet_dns_requests_total\{[^}]*zone="corp\.example"[^}]*\} \d+/)
    expect(text).toMatch(/cnet_dns_requests_total\{[^}]*zone="eu\.corp\.example"[^}]*\} \d+/)
    expect(text).toMatch(/cnet_dns_requests_total\{[^}]*zone="\."[^}]*type="A"\} \d+/)
    expect(text).toMatch(/cnet_dns_forward_requests_total\{to="127\.0\.0\.1:\d+"\} \d+/)
    expect(text).toMatch(/cnet_dns_forward_responses_total\{to="127\.0\.0\.1:\d+",rcode="NOERROR"\} \d+/)
    expect(text).toMatch(/cnet_dns_reloads_total\{result="ok"\} 1/)
  })

  it('skips a dead upstream once its health probes fail, and counts them', async () => {
    const dead = dgram.createSocket('udp4') // holds its port and never answers
    const askedDead: string[] = []
    dead.on('message', (message) => askedDead.push(message.toString('latin1')))
    await new Promise<void>((resolve) => dead.bind(0, '127.0.0.1', () => resolve()))
    const deadPort = dead.address().port
    const [ownPort, ownMetrics] = [await freePort(), await freePort()]
    const own = await startDnsServer(['--upstream', `127.0.0.1:${deadPort}`, '--upstream', `127.0.0.1:${upstreams.main}`, '--metrics', `127.0.0.1:${ownMetrics}`], cliEnv(etcd().endpoint, prefixes), ownPort)
    try {
      expect(short(await dig(ownPort, ['+short', '+time=5', 'main.example.test']))).toEqual(['203.0.113.1']) // after the dead one timed out
      // its probe goes unanswered: down (the exchange and one probe are the two failures in a row)
      const failedProbe = new RegExp(`cnet_dns_forward_healthcheck_failures_total\\{to="127\\.0\\.0\\.1:${deadPort}"\\} [1-9]`)
      await waitFor('a failed health probe of the dead upstream', async () => failedProbe.test(await (await fetch(`http://127.0.0.1:${ownMetrics}/metrics`)).text()))
      expect(short(await dig(ownPort, ['+short', '+time=5', 'db.corp.example']))).toEqual(['192.0.2.1'])
      expect(askedDead.some((m) => m.includes('main'))).toBe(true)
      expect(askedDead.some((m) => m.includes('corp'))).toBe(false) // skipped: only its probes went there
      expect(askedDead.length).toBeGreaterThanOrEqual(2)
      const text = await (await fetch(`http://127.0.0.1:${ownMetrics}/metrics`)).text()
      expect(text).toMatch(new RegExp(`cnet_dns_forward_healthcheck_failures_total\\{to="127\\.0\\.0\\.1:${deadPort}"\\} [1-9]`))
      expect(text).toMatch(new RegExp(`cnet_dns_forward_upstream_errors_total\\{to="127\\.0\\.0\\.1:${deadPort}"\\} 1`))
    } finally {
      await own.stop()
      dead.close()
    }
  }, 30_000)

  it('flags on the command line win over the file', async () => {
    const file = join(dir, 'winning.json')
    writeFileSync(file, JSON.stringify({upstream: `127.0.0.1:${upstreams.main}`, workers: 2}))
    const own = await startDnsServer(['--config', file, '--upstream', `127.0.0.1:${upstreams.corp}`], cliEnv(etcd().endpoint, prefixes), await freePort())
    try {
      expect(short(await dig(own.port, ['+short', 'db.eu.corp.example']))).toEqual(['198.51.100.2'])
    } finally {
      await own.stop()
    }
  })

  it('refuses a bad config file at start: exit 3, one line naming the file and the key', async () => {
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, JSON.stringify({forward: {'corp.example': ['not-an-address']}}))
    const result = await runCli(['dns', 'serve', '--config', bad, '--listen', '127.0.0.1:1'], {env: cliEnv(etcd().endpoint, prefixes)})
    expect(result.exitCode).toBe(3)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toContain(`${bad}: forward.corp.example: "not-an-address" is not an address[:port]`)
    const missing = await runCli(['dns', 'serve', '--config', join(dir, 'none.json')], {env: cliEnv(etcd().endpoint, prefixes)})
    expect(missing.exitCode).toBe(3)
    expect(missing.stderr).toMatch(/none\.json: cannot read the config file \(ENOENT\)/)
  })
})
