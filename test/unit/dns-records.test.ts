import {describe, expect, it} from '@jest/globals'
import * as packet from 'dns-packet'
import {buildReply, healthyByService, reverseNameOf} from '../../src/dns/records.js'
import {RCODE, TYPE, parseQuery} from '../../src/dns/wire.js'
import type {HealthRecord, ServiceRegistration} from '../../src/svc/model.js'

const options = {zone: 'cluster.local', ttlSeconds: 5, negativeTtlSeconds: 5, onlyPassing: false}
const instance = (id: string, address: string, extra: Partial<ServiceRegistration> = {}): ServiceRegistration => ({
  id, name: 'web', namespace: 'default', address, port: 80, protocol: 'tcp', tags: [], meta: {}, weight: 1, node: 'n', registeredAt: '', ...extra,
})
const health = (status: HealthRecord['status']): HealthRecord => ({status, output: '', since: '', checkedAt: '', prober: 'p'})
const ttlCheck = {type: 'ttl' as const, ttlMs: 1000}

describe('records', () => {
  const services = new Map([
    ['default/web/a', instance('a', '10.0.0.1')],
    ['default/web/b', instance('b', '10.0.0.2', {check: ttlCheck})],
    ['default/web/c', instance('c', '10.0.0.3', {check: ttlCheck})],
  ])
  const healthMap = new Map([['default/web/b', health('warning')]])
  const snapshot = {services, health: healthMap}

  it('answers healthy instances: no check passes, warning counts, no record with a check is critical', () => {
    const reply = buildReply(snapshot, healthyByService(snapshot, false), options, 'web.default.svc.cluster.local', TYPE.A)
    expect(reply.answers.map((a) => (a as {data?: unknown}).data)).toEqual(['10.0.0.1', '10.0.0.2'])
    const passing = buildReply(snapshot, healthyByService(snapshot, true), options, 'web.default.svc.cluster.local', TYPE.A)
    expect(passing.answers.map((a) => (a as {data?: unknown}).data)).toEqual(['10.0.0.1'])
  })

  it('rotates, and gives NXDOMAIN with the SOA for unknown names', () => {
    const rotated = buildReply(snapshot, healthyByService(snapshot, false), options, 'web.default.svc.cluster.local', TYPE.A, 1)
    expect(rotated.answers.map((a) => (a as {data?: unknown}).data)).toEqual(['10.0.0.2', '10.0.0.1'])
    const missing = buildReply(snapshot, healthyByService(snapshot, false), options, 'nope.default.svc.cluster.local', TYPE.A)
    expect(missing.rcode).toBe(RCODE.NXDOMAIN)
    expect(missing.authorities[0]!.type).toBe('SOA')
  })

  it('builds reverse names for IPv4 and IPv6', () => {
    expect(reverseNameOf('10.0.0.1')).toBe('1.0.0.10.in-addr.arpa')
    expect(reverseNameOf('fd00::6')).toBe(`6.${'0.'.repeat(29)}d.f.ip6.arpa`)
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
