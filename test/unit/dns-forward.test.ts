import * as packet from 'dns-packet'
import {afterEach, describe, expect, it} from '@jest/globals'
import {Forwarder, type ForwarderOptions, candidates} from '../../src/dns/forward.js'
import {UdpPool, UpstreamTimeoutError} from '../../src/dns/udp-pool.js'
import {Upstream} from '../../src/dns/upstream.js'
import {parseQuery} from '../../src/dns/wire.js'
import {parseCidr} from '../../src/net/ip.js'
import {question} from '../helpers/dns-fixtures.js'
import {type FakeUpstream, startFakeUpstream} from '../helpers/fake-upstream.js'

/** The forwarder against resolvers in this process on loopback (real sockets, no other process). */
const opened: {close(): unknown}[] = []
afterEach(async () => {
  for (const thing of opened.splice(0)) await thing.close()
})

async function upstream(address?: string): Promise<FakeUpstream> {
  const fake = await startFakeUpstream(address)
  opened.push(fake)
  return fake
}

function forwarder(options: Partial<ForwarderOptions>): Forwarder {
  const f = new Forwarder({
    upstreams: [],
    forward: [],
    // generous: a loaded machine (and coverage) must not turn a slow answer into a failure
    timeoutMs: 1500,
    maxConcurrent: 1000,
    allowRecursion: [parseCidr('127.0.0.0/8')!],
    healthCheck: {intervalMs: 50, maxFails: 2, timeoutMs: 300},
    ...options,
  })
  opened.push(f)
  return f
}

const at = (fake: FakeUpstream) => ({host: '127.0.0.1', port: fake.port})

async function ask(f: Forwarder, name: string, type = 'A') {
  const request = question(name, type)
  const parsed = parseQuery(request)
  if (!parsed.ok) throw new Error('fixture')
  const query = parsed.query
  const result = await f.forward(request, query, f.routeFor(query.name))
  const data = 'reply' in result ? (packet.decode(result.reply).answers ?? []).map((a) => (a as {data: string}).data) : []
  return {result, data}
}

const waitFor = async (condition: () => boolean) => {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10))
  return condition()
}

describe('Forwarder', () => {
  it('sends a name to the longest stub domain containing it, everything else to the default upstreams', async () => {
    const [def, corp, eu] = [await upstream('192.0.2.1'), await upstream('192.0.2.2'), await upstream('192.0.2.3')]
    const f = forwarder({
      upstreams: [at(def)],
      forward: [
        {domain: 'eu.corp.example', upstreams: [at(eu)]},
        {domain: 'corp.example', upstreams: [at(corp)]},
      ],
    })
    expect(f.zones).toEqual(['eu.corp.example', 'corp.example', '.'])
    expect((await ask(f, 'db.eu.corp.example')).data).toEqual(['192.0.2.3'])
    expect((await ask(f, 'eu.corp.example')).data).toEqual(['192.0.2.3'])
    expect((await ask(f, 'db.corp.example')).data).toEqual(['192.0.2.2'])
    expect((await ask(f, 'notcorp.example')).data).toEqual(['192.0.2.1'])
    expect(f.routeFor('x.eu.corp.example').metricsZone).toBe(1)
    expect(f.routeFor('example.com')).toMatchObject({zone: '.', metricsZone: 3})
  })

  it('caches answers: the next asker is served without a promise', async () => {
    const def = await upstream()
    const f = forwarder({upstreams: [at(def)]})
    await ask(f, 'app.example.test')
    const parsed = parseQuery(question('APP.example.test', 'A'))
    expect(parsed.ok && f.cached(parsed.query)).toBeDefined()
    expect(def.udpQueries).toBe(1)
    expect([f.cache.hits, f.cache.misses]).toEqual([1, 0])
  })

  it('skips a dead upstream once it has failed twice, probes it, and uses it again when it answers', async () => {
    const [dead, live] = [await upstream('192.0.2.1'), await upstream('192.0.2.2')]
    dead.silent = true
    const f = forwarder({upstreams: [at(dead), at(live)]})
    const [first] = f.upstreams
    expect((await ask(f, 'a.example.test')).data).toEqual(['192.0.2.2']) // after the dead one's timeout
    expect(dead.names).toContain('a.example.test')
    expect(first!.fails).toBeGreaterThanOrEqual(1)
    expect(await waitFor(() => first!.down)).toBe(true) // the exchange and an unanswered probe
    const sentToDead = dead.udpQueries
    expect((await ask(f, 'b.example.test')).data).toEqual(['192.0.2.2'])
    expect(dead.names).not.toContain('b.example.test') // skipped: only probes reach it
    expect(dead.names.filter((name) => name === '').length).toBeGreaterThanOrEqual(1)
    expect(first!.healthcheckFailures).toBeGreaterThanOrEqual(1)
    dead.silent = false
    expect(await waitFor(() => !first!.down)).toBe(true)
    expect(first!.fails).toBe(0)
    expect(first!.probing).toBe(false)
    expect(dead.udpQueries).toBeGreaterThan(sentToDead)
    expect((await ask(f, 'c.example.test')).data).toEqual(['192.0.2.1'])
  })

  it('with every upstream down, tries the one that failed least; then serves a stale answer or fails', async () => {
    const dead = await upstream()
    const f = forwarder({upstreams: [at(dead)]})
    expect((await ask(f, 'kept.example.test')).data).toEqual(['192.0.2.1'])
    dead.silent = true
    expect((await ask(f, 'never.example.test')).result).toEqual({failed: true})
    expect(await waitFor(() => f.upstreams[0]!.down)).toBe(true)
    expect(candidates(f.upstreams)).toEqual(f.upstreams) // still tried: one chance to end the outage
    // the cached answer has not expired: fetched fresh it would be, so force a miss with stale
    const stale = await ask(f, 'kept.example.test')
    expect(stale.result).toMatchObject({stale: true})
    expect(stale.data).toEqual(['192.0.2.1'])
  })

  it('retries a truncated answer over TCP, on one connection kept for the next ones', async () => {
    const def = await upstream()
    def.truncate = true
    const f = forwarder({upstreams: [at(def)]})
    for (const name of ['t1.example.test', 't2.example.test', 't3.example.test']) expect((await ask(f, name)).data).toEqual(['192.0.2.1'])
    await Promise.all(['t4', 't5', 't6'].map((n) => ask(f, `${n}.example.test`)))
    expect(def.tcpQueries).toBe(6)
    expect(def.tcpConnections).toBe(1)
    expect(f.upstreams[0]!.tcpConnectionsOpened).toBe(1)
  })

  it('keeps its UDP sockets bounded however many queries are in flight', async () => {
    const def = await upstream()
    const f = forwarder({upstreams: [at(def)]})
    let most = 0
    const all = Array.from({length: 200}, (_, i) => {
      const done = ask(f, `n${i}.example.test`)
      most = Math.max(most, f.openSockets)
      return done
    })
    const results = await Promise.all(all)
    expect(results.every((r) => r.data[0] === '192.0.2.1')).toBe(true)
    expect(most).toBeLessThanOrEqual(4)
    expect(def.sourcePorts.size).toBeLessThanOrEqual(4)
  })

  it('refuses past max-concurrent, and counts it', async () => {
    const def = await upstream()
    def.silent = true
    const f = forwarder({upstreams: [at(def)], maxConcurrent: 2})
    const pending = [ask(f, 'a.example.test'), ask(f, 'b.example.test')]
    expect((await ask(f, 'c.example.test')).result).toEqual({refused: true})
    expect(f.concurrencyRejects).toBe(1)
    await Promise.all(pending)
  })

  it('lets only allowed clients recurse', () => {
    const f = forwarder({allowRecursion: [parseCidr('10.0.0.0/8')!, parseCidr('fd00::/8')!]})
    expect(['10.1.2.3', '::ffff:10.1.2.3', 'fd00::5', '192.0.2.1', 'nonsense'].map((a) => f.allowed(a))).toEqual([true, true, true, false, false])
  })

  it('a reload keeps the upstreams it still has, with their health, and stops the others', async () => {
    const [a, b] = [await upstream(), await upstream()]
    const f = forwarder({upstreams: [at(a), at(b)]})
    const [keptBefore, dropped] = f.upstreams
    keptBefore!.fails = 5
    f.configure({upstreams: [at(a)], forward: [{domain: 'corp.example', upstreams: [at(a)]}], timeoutMs: 1500, maxConcurrent: 10, allowRecursion: []})
    expect(f.upstreams).toEqual([keptBefore])
    expect(f.upstreams[0]!.fails).toBe(5)
    expect(f.routeFor('x.corp.example').upstreams).toEqual([keptBefore])
    await expect(dropped!.exchange(question('x.example', 'A'), 3000)).resolves.toBeDefined() // UDP still answers...
    expect(dropped!.probing).toBe(false) // ...but it is no longer probed
  })
})

describe('UdpPool', () => {
  it('moves to new sockets (new ports) after maxUses, closing the old once answered', async () => {
    const def = await upstream()
    const pool = new UdpPool({size: 1, maxUses: 3, maxAgeMs: 60_000})
    opened.push(pool)
    for (let i = 0; i < 9; i++) await pool.exchange(question(`p${i}.example`, 'A'), '127.0.0.1', def.port, 3000)
    expect(def.sourcePorts.size).toBe(3)
    expect(pool.openSockets).toBe(0)
  })

  it('ignores replies from elsewhere, with another id or another question, and times out', async () => {
    const def = await upstream()
    def.silent = true
    const pool = new UdpPool({size: 1, maxUses: 100, maxAgeMs: 60_000})
    opened.push(pool)
    const error = await pool.exchange(question('x.example', 'A'), '127.0.0.1', def.port, 100).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UpstreamTimeoutError)
    expect((error as Error).message).toMatch(/no answer from 127\.0\.0\.1:\d+ within 100 ms/)
  })

  it('fails the queries in flight when closed', async () => {
    const def = await upstream()
    def.silent = true
    const pool = new UdpPool()
    const pending = pool.exchange(question('x.example', 'A'), '127.0.0.1', def.port, 5000)
    pool.close()
    await expect(pending).rejects.toThrow(/closed/)
    await expect(pool.exchange(question('x.example', 'A'), '127.0.0.1', def.port, 5000)).rejects.toThrow(/closed/)
  })
})

describe('Upstream', () => {
  it('labels itself host:port with IPv6 in brackets, canonical', () => {
    const pool = new UdpPool()
    opened.push(pool)
    expect(new Upstream({host: 'fd00:0::53', port: 53}, pool).label).toBe('[fd00::53]:53')
    expect(new Upstream({host: '10.0.0.2', port: 5353}, pool).label).toBe('10.0.0.2:5353')
  })
})
