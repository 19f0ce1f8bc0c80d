import {describe, expect, it} from '@jest/globals'
import * as packet from 'dns-packet'
import {addressOfReverseName, buildReply, classifyZoneName, dependencyOf, reverseNameOf} from '../../src/dns/records.js'
import {RCODE, TYPE, parseQuery} from '../../src/dns/wire.js'
import {recordOptions, registration, registryWith, sourceOf} from '../helpers/dns-fixtures.js'

const ttlCheck = {type: 'ttl' as const, ttlMs: 1000}
const registry = registryWith(
  [
    registration('a', '10.0.0.1', {tags: ['Canary', 'v2'], portName: 'http'}),
    registration('b', '10.0.0.2', {check: ttlCheck, tags: ['stable'], weight: 3, portName: 'http'}),
    registration('c', '10.0.0.3', {check: ttlCheck}),
    registration('d', 'fd00::0:6', {tags: ['canary'], protocol: 'udp', portName: 'dns'}),
    registration('m1', '10.1.0.1', {name: 'mail', namespace: 'ops'}),
  ],
  {'default/web/b': 'warning'},
)
const source = sourceOf(registry)
const options = recordOptions({hostEntries: [{name: 'gw.corp.example', addresses: ['192.0.2.1', 'fd00::1']}]})
const data = (records: packet.Answer[]) => records.map((r) => (r as {data?: unknown}).data)

describe('names in the zone', () => {
  it.each([
    ['cluster.local', {kind: 'apex'}],
    ['ns.dns.cluster.local', {kind: 'nameserver'}],
    ['dns.cluster.local', {kind: 'empty'}],
    ['x.ns.dns.cluster.local', {kind: 'none'}],
    ['dns-version.cluster.local', {kind: 'version'}],
    ['svc.cluster.local', {kind: 'empty'}],
    ['default.svc.cluster.local', {kind: 'namespace', namespace: 'default'}],
    ['web.default.svc.cluster.local', {kind: 'service', service: 'web.default'}],
    ['a.web.default.svc.cluster.local', {kind: 'instance', service: 'web.default', id: 'a'}],
    ['_tag.web.default.svc.cluster.local', {kind: 'service-branch', service: 'web.default'}],
    ['_tcp.web.default.svc.cluster.local', {kind: 'service-branch', service: 'web.default'}],
    ['_x.web.default.svc.cluster.local', {kind: 'none'}],
    ['canary._tag.web.default.svc.cluster.local', {kind: 'tag', service: 'web.default', tag: 'canary'}],
    ['_canary._tag.web.default.svc.cluster.local', {kind: 'tag', service: 'web.default', tag: '_canary'}],
    ['_http._tcp.web.default.svc.cluster.local', {kind: 'port', service: 'web.default', portName: 'http', protocol: 'tcp'}],
    ['a.b.web.default.svc.cluster.local', {kind: 'none'}],
    ['a.b.c.web.default.svc.cluster.local', {kind: 'none'}],
    ['web.default.cluster.local', {kind: 'none'}],
  ])('%s is %j', (name, expected) => {
    expect(classifyZoneName(name, 'cluster.local')).toEqual(expected)
  })

  it.each([
    ['web.default.svc.cluster.local', 's:web.default'],
    ['a.web.default.svc.cluster.local', 's:web.default'],
    ['canary._tag.web.default.svc.cluster.local', 's:web.default'],
    ['default.svc.cluster.local', 'n:default'],
    ['2.0.0.10.in-addr.arpa', 'a:10.0.0.2'],
    ['10.in-addr.arpa', ''],
    ['gw.corp.example', ''],
    ['cluster.local', ''],
  ])('the answer for %s depends on %j', (name, dependency) => {
    expect(dependencyOf(name, options)).toBe(dependency)
  })
})

type Case = [string, string, number, {rcode: number; answers?: unknown[]; soa?: boolean; additionals?: unknown[]}]

describe('buildReply', () => {
  it.each<Case>([
    ['healthy instances: no check passes, warning counts, a check without a record is critical', 'web.default.svc.cluster.local', TYPE.A, {rcode: RCODE.NOERROR, answers: ['10.0.0.1', '10.0.0.2']}],
    ['AAAA, canonical text', 'web.default.svc.cluster.local', TYPE.AAAA, {rcode: RCODE.NOERROR, answers: ['fd00::6']}],
    ['SRV with weights, targets and glue', 'web.default.svc.cluster.local', TYPE.SRV, {rcode: RCODE.NOERROR, answers: [{priority: 0, weight: 1, port: 80, target: 'a.web.default.svc.cluster.local'}, {priority: 0, weight: 3, port: 80, target: 'b.web.default.svc.cluster.local'}, {priority: 0, weight: 1, port: 80, target: 'd.web.default.svc.cluster.local'}], additionals: ['10.0.0.1', '10.0.0.2', 'fd00::6']}],
    ['ANY: one record (RFC 8482)', 'web.default.svc.cluster.local', TYPE.ANY, {rcode: RCODE.NOERROR, answers: ['10.0.0.1']}],
    ['a known name, another type: NODATA with the SOA', 'web.default.svc.cluster.local', TYPE.TXT, {rcode: RCODE.NOERROR, answers: [], soa: true}],
    ['an unknown service: NXDOMAIN with the SOA', 'nope.default.svc.cluster.local', TYPE.A, {rcode: RCODE.NXDOMAIN, soa: true}],
    ['a service with no healthy instance is NXDOMAIN', 'web.nowhere.svc.cluster.local', TYPE.A, {rcode: RCODE.NXDOMAIN, soa: true}],
    ['one instance by id', 'b.web.default.svc.cluster.local', TYPE.A, {rcode: RCODE.NOERROR, answers: ['10.0.0.2']}],
    ['an unhealthy instance by id', 'c.web.default.svc.cluster.local', TYPE.A, {rcode: RCODE.NXDOMAIN, soa: true}],
    ['an instance by id, the other family: NODATA', 'a.web.default.svc.cluster.local', TYPE.AAAA, {rcode: RCODE.NOERROR, answers: [], soa: true}],
    ['a tag, any case in the registration', 'canary._tag.web.default.svc.cluster.local', TYPE.A, {rcode: RCODE.NOERROR, answers: ['10.0.0.1']}],
    ['a tag, AAAA', 'canary._tag.web.default.svc.cluster.local', TYPE.AAAA, {rcode: RCODE.NOERROR, answers: ['fd00::6']}],
    ['a tag, SRV: only the tagged instances', 'canary._tag.web.default.svc.cluster.local', TYPE.SRV, {rcode: RCODE.NOERROR, answers: [{priority: 0, weight: 1, port: 80, target: 'a.web.default.svc.cluster.local'}, {priority: 0, weight: 1, port: 80, target: 'd.web.default.svc.cluster.local'}], additionals: ['10.0.0.1', 'fd00::6']}],
    ['a tag no healthy instance has', 'nope._tag.web.default.svc.cluster.local', TYPE.A, {rcode: RCODE.NXDOMAIN, soa: true}],
    ['the tag branch itself exists while the service does', '_tag.web.default.svc.cluster.local', TYPE.A, {rcode: RCODE.NOERROR, answers: [], soa: true}],
    ['a port name and protocol', '_dns._udp.web.default.svc.cluster.local', TYPE.SRV, {rcode: RCODE.NOERROR, answers: [{priority: 0, weight: 1, port: 80, target: 'd.web.default.svc.cluster.local'}], additionals: ['fd00::6']}],
    ['a port name, A: NODATA', '_http._tcp.web.default.svc.cluster.local', TYPE.A, {rcode: RCODE.NOERROR, answers: [], soa: true}],
    ['an unknown port name', '_ftp._tcp.web.default.svc.cluster.local', TYPE.SRV, {rcode: RCODE.NXDOMAIN, soa: true}],
    ['a namespace with services: NODATA', 'ops.svc.cluster.local', TYPE.A, {rcode: RCODE.NOERROR, answers: [], soa: true}],
    ['a namespace without: NXDOMAIN', 'empty.svc.cluster.local', TYPE.A, {rcode: RCODE.NXDOMAIN, soa: true}],
    ['the zone SOA', 'cluster.local', TYPE.SOA, {rcode: RCODE.NOERROR, answers: [expect.objectContaining({mname: 'ns.dns.cluster.local'})]}],
    ['the zone NS, its target glued', 'cluster.local', TYPE.NS, {rcode: RCODE.NOERROR, answers: ['ns.dns.cluster.local'], additionals: ['10.96.0.10']}],
    ['the NS target resolves to the server', 'ns.dns.cluster.local', TYPE.A, {rcode: RCODE.NOERROR, answers: ['10.96.0.10']}],
    ['the NS target has no AAAA here', 'ns.dns.cluster.local', TYPE.AAAA, {rcode: RCODE.NOERROR, answers: [], soa: true}],
    ['the version', 'dns-version.cluster.local', TYPE.TXT, {rcode: RCODE.NOERROR, answers: [['cnet-dns 1']]}],
    ['a hosts entry, A', 'gw.corp.example', TYPE.A, {rcode: RCODE.NOERROR, answers: ['192.0.2.1']}],
    ['a hosts entry, AAAA', 'gw.corp.example', TYPE.AAAA, {rcode: RCODE.NOERROR, answers: ['fd00::1']}],
    ['a hosts entry, MX: NODATA without a SOA (not our zone)', 'gw.corp.example', 15, {rcode: RCODE.NOERROR, answers: []}],
    ['PTR of a registered address', '2.0.0.10.in-addr.arpa', TYPE.PTR, {rcode: RCODE.NOERROR, answers: ['b.web.default.svc.cluster.local']}],
    ['PTR of an unhealthy one too', '3.0.0.10.in-addr.arpa', TYPE.PTR, {rcode: RCODE.NOERROR, answers: ['c.web.default.svc.cluster.local']}],
    ['PTR of a hosts address', '1.2.0.192.in-addr.arpa', TYPE.PTR, {rcode: RCODE.NOERROR, answers: ['gw.corp.example']}],
    ['PTR of an IPv6 address', reverseNameOf('fd00::6')!, TYPE.PTR, {rcode: RCODE.NOERROR, answers: ['d.web.default.svc.cluster.local']}],
    ['PTR of an unknown address', '9.9.9.10.in-addr.arpa', TYPE.PTR, {rcode: RCODE.NXDOMAIN}],
  ])('%s', (_label, name, type, expected) => {
    const reply = buildReply(source, options, name, type)
    expect(reply.rcode).toBe(expected.rcode)
    if (expected.answers) expect(data(reply.answers)).toEqual(expected.answers)
    if (expected.additionals) expect(data(reply.additionals)).toEqual(expected.additionals)
    expect(reply.authorities.map((a) => a.type)).toEqual(expected.soa || expected.rcode === RCODE.NXDOMAIN && name.endsWith('cluster.local') ? ['SOA'] : [])
  })

  it('rotates A answers one place per rotation', () => {
    expect(data(buildReply(source, options, 'web.default.svc.cluster.local', TYPE.A, 1).answers)).toEqual(['10.0.0.2', '10.0.0.1'])
    expect(data(buildReply(source, options, 'web.default.svc.cluster.local', TYPE.A, 2).answers)).toEqual(['10.0.0.1', '10.0.0.2'])
  })

  it('leaves warning instances out with --only-passing', () => {
    expect(data(buildReply(sourceOf(registry, true), options, 'web.default.svc.cluster.local', TYPE.A).answers)).toEqual(['10.0.0.1'])
  })
})

describe('reverse names', () => {
  it.each([
    ['10.0.0.1', '1.0.0.10.in-addr.arpa'],
    ['fd00::6', `6.${'0.'.repeat(29)}d.f.ip6.arpa`],
  ])('%s <-> %s', (address, name) => {
    expect(reverseNameOf(address)).toBe(name)
    expect(addressOfReverseName(name)).toBe(address)
  })

  it.each(['10.in-addr.arpa', '256.0.0.10.in-addr.arpa', '01.0.0.10.in-addr.arpa', 'x.0.0.10.in-addr.arpa', '1.ip6.arpa', 'example.com'])('%s is no single address', (name) => {
    expect(addressOfReverseName(name)).toBeUndefined()
  })

  it('has no reverse name for a non-address', () => {
    expect(reverseNameOf('nope')).toBeUndefined()
  })
})

describe('wire', () => {
  it('reads the question and EDNS without a full decode', () => {
    const buf = packet.encode({type: 'query', id: 9, flags: packet.RECURSION_DESIRED, questions: [{name: 'Web.Default.svc.cluster.local', type: 'SRV'}], additionals: [{type: 'OPT', name: '.', udpPayloadSize: 1400, flags: packet.DNSSEC_OK} as packet.Answer]})
    const parsed = parseQuery(buf)
    expect(parsed.ok && parsed.query).toMatchObject({id: 9, name: 'web.default.svc.cluster.local', type: TYPE.SRV, recursionDesired: true, edns: {udpSize: 1400, version: 0, dnssecOk: true}})
  })

  it('tells garbage (no reply) from a malformed query with a readable header (FORMERR)', () => {
    expect(parseQuery(Buffer.from([1, 2, 3]))).toEqual({ok: false, reason: 'garbage'})
    expect(parseQuery(Buffer.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 9, 1]))).toEqual({ok: false, id: 7, reason: 'formerr'})
  })
})
