import * as packet from 'dns-packet'
import {describe, expect, it} from '@jest/globals'
import {AnswerCache} from '../../src/dns/answer-cache.js'
import type {ForwardResult, Route} from '../../src/dns/forward.js'
import {type Client, type HandlerDeps, handleQuery} from '../../src/dns/handler.js'
import {StaticHosts} from '../../src/dns/hosts.js'
import type {QueryLogEntry} from '../../src/dns/query-log.js'
import type {Query} from '../../src/dns/wire.js'
import {type QuestionOptions, question, recordOptions, registration, registryWith, sourceOf} from '../helpers/dns-fixtures.js'

/**
 * handleQuery as CoreDNS tests its plugins: a table of questions (name, type, flags,
 * EDNS, class, client), each answered from fakes (a registry, hosts, a forwarder that
 * answers as told) with no socket, and the reply bytes checked.
 */
const loopback: Client = {address: '127.0.0.1', port: 5300, family: 'IPv4'}
const stranger: Client = {address: '192.0.2.99', port: 5300, family: 'IPv4'}

type Upstream = 'answers' | 'fails' | 'busy' | 'huge'

function fakeForwarder(upstream: Upstream, cachedNames: string[] = []) {
  const routes: Route[] = [
    {zone: 'corp.example', upstreams: [], suffix: '.corp.example', metricsZone: 1},
    {zone: '.', upstreams: [], suffix: '', metricsZone: 2},
  ]
  const forwarded: {name: string; route: string}[] = []
  const upstreamReply = (query: Query, answers: number) =>
    packet.encode({
      id: 999, // not the client's: the handler puts its id back
      type: 'response',
      flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE,
      questions: [{name: query.name, type: 'A', class: 'IN'}],
      answers: Array.from({length: answers}, (_, i) => ({name: query.name, type: 'A', ttl: 60, data: `198.51.100.${i + 1}`}) as packet.Answer),
    })
  return {
    forwarded,
    routeFor: (name: string) => (name === 'corp.example' || name.endsWith('.corp.example') ? routes[0]! : routes[1]!),
    allowed: (address: string) => address.startsWith('127.'),
    cached: (query: Query) => (cachedNames.includes(query.name) ? upstreamReply(query, 1) : undefined),
    forward: async (_request: Buffer, query: Query, route: Route): Promise<ForwardResult> => {
      forwarded.push({name: query.name, route: route.zone})
      if (upstream === 'fails') return {failed: true}
      if (upstream === 'busy') return {refused: true}
      return {reply: upstreamReply(query, upstream === 'huge' ? 60 : 1)}
    },
  }
}

function depsFor(options: {upstream?: Upstream; loaded?: boolean; cached?: string[]; log?: QueryLogEntry[]; observed?: number[][]} = {}): HandlerDeps & {forwarder: ReturnType<typeof fakeForwarder>} {
  const registry = registryWith([
    registration('w1', '10.1.0.1', {tags: ['canary']}),
    registration('w2', '10.1.0.2'),
    ...Array.from({length: 60}, (_, i) => registration(`b${i}`, `10.2.0.${i + 1}`, {name: 'big'})),
  ])
  const hosts = new StaticHosts([{name: 'gw.corp.example', addresses: ['192.0.2.1']}])
  const forwarder = fakeForwarder(options.upstream ?? 'answers', options.cached)
  const answers = new AnswerCache(sourceOf(registry), recordOptions({hosts}), (name) => (name.endsWith('cluster.local') ? 0 : forwarder.routeFor(name).metricsZone))
  return {
    zone: 'cluster.local',
    zoneSuffix: '.cluster.local',
    loaded: () => options.loaded ?? true,
    registry,
    hosts,
    answers,
    forwarder,
    metrics: options.observed ? ({observe: (...args: number[]) => options.observed!.push(args)} as never) : undefined,
    queryLog: options.log ? (entry) => options.log!.push(entry) : undefined,
  }
}

interface Expected {
  rcode?: string
  answers?: string[]
  flags?: string[]
  /** The reply's EDNS OPT record is there. */
  opt?: boolean
  silent?: boolean
  forwardedTo?: string
}

type Case = [string, {name: string; type?: string | number; options?: QuestionOptions; client?: Client; proto?: 'udp' | 'tcp'; deps?: Parameters<typeof depsFor>[0]}, Expected]

const flagsOf = (reply: Buffer) => {
  const flags = reply.readUInt16BE(2)
  return (['qr', 'aa', 'tc', 'rd', 'ra'] as const).filter((_, i) => flags & [0x8000, 0x0400, 0x0200, 0x0100, 0x0080][i]!)
}

describe('handleQuery', () => {
  it.each<Case>([
    ['a service name: AA, both instances', {name: 'web.default.svc.cluster.local'}, {rcode: 'NOERROR', answers: ['10.1.0.1', '10.1.0.2'], flags: ['qr', 'aa', 'rd'], opt: false}],
    ['EDNS: the reply carries an OPT', {name: 'web.default.svc.cluster.local', options: {edns: {}}}, {rcode: 'NOERROR', answers: ['10.1.0.1', '10.1.0.2'], opt: true}],
    ['EDNS with DO set', {name: 'w2.web.default.svc.cluster.local', options: {edns: {do: true}}}, {rcode: 'NOERROR', answers: ['10.1.0.2']}],
    ['EDNS version 1: BADVERS', {name: 'web.default.svc.cluster.local', options: {edns: {version: 1}}}, {rcode: 'BADVERS', answers: [], opt: true}],
    ['no RD: none in the reply', {name: 'web.default.svc.cluster.local', options: {rd: false}}, {rcode: 'NOERROR', flags: ['qr', 'aa']}],
    ['a tag name', {name: 'canary._tag.web.default.svc.cluster.local'}, {rcode: 'NOERROR', answers: ['10.1.0.1']}],
    ['the case of the name does not matter', {name: 'WEB.Default.svc.CLUSTER.local'}, {rcode: 'NOERROR', answers: ['10.1.0.1', '10.1.0.2']}],
    ['an unknown name in the zone', {name: 'nope.default.svc.cluster.local'}, {rcode: 'NXDOMAIN', answers: []}],
    ['60 instances without EDNS over UDP: truncated, empty', {name: 'big.default.svc.cluster.local'}, {rcode: 'NOERROR', answers: [], flags: ['qr', 'aa', 'tc', 'rd']}],
    ['60 instances over TCP: all of them', {name: 'big.default.svc.cluster.local', proto: 'tcp'}, {rcode: 'NOERROR', flags: ['qr', 'aa', 'rd']}],
    ['60 instances with a 4096-byte EDNS buffer: all of them', {name: 'big.default.svc.cluster.local', options: {edns: {udpSize: 4096}}}, {rcode: 'NOERROR', flags: ['qr', 'aa', 'rd']}],
    ['the zone before the first listing: SERVFAIL, never a false NXDOMAIN', {name: 'web.default.svc.cluster.local', deps: {loaded: false}}, {rcode: 'SERVFAIL'}],
    ['another class in the zone: REFUSED', {name: 'web.default.svc.cluster.local', options: {klass: 3}}, {rcode: 'REFUSED'}],
    ['class ANY in the zone is answered', {name: 'web.default.svc.cluster.local', options: {klass: 255}}, {rcode: 'NOERROR', answers: ['10.1.0.1', '10.1.0.2']}],
    ['another opcode: NOTIMP', {name: 'web.default.svc.cluster.local', options: {opcode: 2}}, {rcode: 'NOTIMP'}],
    ['another opcode outside the zone: NOTIMP, not forwarded', {name: 'example.com', options: {opcode: 2}}, {rcode: 'NOTIMP'}],
    ['a hosts entry: AA, for anyone', {name: 'gw.corp.example', client: stranger}, {rcode: 'NOERROR', answers: ['192.0.2.1'], flags: ['qr', 'aa', 'rd']}],
    ['a hosts entry in another class: REFUSED', {name: 'gw.corp.example', options: {klass: 3}}, {rcode: 'REFUSED'}],
    ['PTR of a registered address: answered here', {name: '1.0.1.10.in-addr.arpa', type: 'PTR'}, {rcode: 'NOERROR', answers: ['w1.web.default.svc.cluster.local']}],
    ['PTR of another address: forwarded', {name: '9.9.9.9.in-addr.arpa', type: 'PTR'}, {rcode: 'NOERROR', forwardedTo: '.'}],
    ['a name under a stub domain goes to its upstreams', {name: 'db.corp.example'}, {rcode: 'NOERROR', answers: ['198.51.100.1'], flags: ['qr', 'rd', 'ra'], forwardedTo: 'corp.example'}],
    ['any other name goes to the default upstreams', {name: 'example.com'}, {rcode: 'NOERROR', answers: ['198.51.100.1'], forwardedTo: '.'}],
    ['a forwarded answer from the cache', {name: 'cached.example.com', deps: {cached: ['cached.example.com']}}, {rcode: 'NOERROR', answers: ['198.51.100.1']}],
    ['a client outside allow-recursion: REFUSED', {name: 'example.com', client: stranger}, {rcode: 'REFUSED'}],
    ['every upstream failed: SERVFAIL', {name: 'example.com', deps: {upstream: 'fails'}}, {rcode: 'SERVFAIL', forwardedTo: '.'}],
    ['too many in flight: REFUSED', {name: 'example.com', deps: {upstream: 'busy'}}, {rcode: 'REFUSED', forwardedTo: '.'}],
    ['a forwarded answer too big for the client: TC, question only', {name: 'big.example.com'}, {rcode: 'NOERROR', answers: [], flags: ['qr', 'tc', 'rd', 'ra'], forwardedTo: '.'}],
    ['a forwarded answer too big over TCP: whole', {name: 'big.example.com', proto: 'tcp', deps: {upstream: 'huge'}}, {rcode: 'NOERROR', flags: ['qr', 'rd', 'ra'], forwardedTo: '.'}],
  ])('%s', async (_label, {name, type, options, client, proto, deps: depsOptions}, expected) => {
    const deps = depsFor({...depsOptions, upstream: name === 'big.example.com' && !depsOptions?.upstream ? 'huge' : depsOptions?.upstream})
    const request = question(name, type ?? 'A', {id: 777, ...options})
    const reply = await handleQuery(deps, request, proto ?? 'udp', client ?? loopback)
    if (expected.silent) return expect(reply).toBeUndefined()
    expect(reply).toBeDefined()
    const decoded = packet.decode(reply!) as packet.DecodedPacket & {rcode: string}
    expect(decoded.id).toBe(777)
    // the asker's spelling of the name comes back
    if (decoded.questions?.length) expect(decoded.questions[0]!.name).toBe(name)
    if (expected.rcode) {
      const opt = decoded.additionals?.find((a) => a.type === 'OPT') as {extendedRcode?: number} | undefined
      expect(opt?.extendedRcode === 1 ? 'BADVERS' : decoded.rcode).toBe(expected.rcode)
    }
    if (expected.answers) expect((decoded.answers ?? []).map((a) => (a as {data: string}).data)).toEqual(expected.answers)
    if (expected.flags) expect(flagsOf(reply!)).toEqual(expected.flags)
    if (expected.opt !== undefined) expect(decoded.additionals?.some((a) => a.type === 'OPT') ?? false).toBe(expected.opt)
    if (expected.forwardedTo) expect(deps.forwarder.forwarded.map((f) => f.route)).toEqual([expected.forwardedTo])
    else expect(deps.forwarder.forwarded).toEqual([])
  })

  it.each([
    ['garbage: no reply at all', Buffer.from([1, 2, 3]), undefined],
    ['a readable header, a broken question: FORMERR', Buffer.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 9, 1]), 1],
    ['a response, not a query: no reply', Buffer.from([0, 7, 0x81, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1]), undefined],
  ])('%s', async (_label, request, rcode) => {
    const reply = await handleQuery(depsFor(), request, 'udp', loopback)
    if (rcode === undefined) expect(reply).toBeUndefined()
    else expect(reply![3]! & 0xf).toBe(rcode)
  })

  it('rotates the order of addresses from one answer to the next, on the raw-bytes path too', async () => {
    const deps = depsFor()
    const firsts = new Set<string>()
    for (let i = 0; i < 4; i++) {
      const reply = (await handleQuery(deps, question('web.default.svc.cluster.local', 'A'), 'udp', loopback))!
      firsts.add((packet.decode(reply).answers![0] as {data: string}).data)
    }
    expect([...firsts].sort()).toEqual(['10.1.0.1', '10.1.0.2'])
    expect(deps.answers.hits).toBe(3)
  })

  it('counts each reply under its zone: the service zone, a stub domain, "."', async () => {
    const observed: number[][] = []
    const deps = depsFor({observed})
    const ask = (name: string) => handleQuery(deps, question(name, 'A'), 'udp', loopback)
    await ask('web.default.svc.cluster.local')
    await ask('web.default.svc.cluster.local') // the raw-bytes path
    await ask('db.corp.example')
    await ask('gw.corp.example')
    await ask('example.com')
    await handleQuery(deps, Buffer.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 9, 1]), 'tcp', {address: '::1', port: 1, family: 'IPv6'})
    // zone, tcp, ipv6, type, rcode
    expect(observed.map((o) => o.slice(0, 5))).toEqual([
      [0, 0, 0, 1, 0],
      [0, 0, 0, 1, 0],
      [1, 0, 0, 1, 0],
      [1, 0, 0, 1, 0],
      [2, 0, 0, 1, 0],
      [2, 1, 1, 0, 1],
    ])
    for (const o of observed) expect(o[6]).toBeGreaterThan(0) // request size
  })

  it('logs every query with its fields', async () => {
    const log: QueryLogEntry[] = []
    const deps = depsFor({log})
    await handleQuery(deps, question('Web.default.svc.cluster.local', 'AAAA', {id: 9, edns: {udpSize: 1400, do: true}}), 'udp', loopback)
    await handleQuery(deps, question('web.default.svc.cluster.local', 65), 'tcp', loopback)
    expect(log[0]).toMatchObject({client: '127.0.0.1', port: 5300, id: 9, type: 'AAAA', class: 'IN', name: 'web.default.svc.cluster.local.', proto: 'udp', do: true, bufsize: 1400, rcode: 'NOERROR', flags: 'qr,aa,rd'})
    expect(log[0]!.size).toBeGreaterThan(40)
    expect(log[0]!.rsize).toBeGreaterThan(40)
    expect(log[1]).toMatchObject({type: 'HTTPS', proto: 'tcp', do: false, bufsize: 512})
  })
})
