import * as packet from 'dns-packet'
import {describe, expect, it} from '@jest/globals'
import {AnswerCache} from '../../src/dns/answer-cache.js'
import {emptyChange} from '../../src/dns/registry.js'
import {parseQuery} from '../../src/dns/wire.js'
import {identOf, question, recordOptions, registration, registryWith, sourceOf, wireName} from '../helpers/dns-fixtures.js'

const setup = () => {
  const web = registration('w1', '10.1.0.1')
  const db = registration('d1', '10.1.0.9', {name: 'db'})
  const registry = registryWith([web, db])
  const answers = new AnswerCache(sourceOf(registry), recordOptions())
  return {registry, answers, web, db}
}

function ask(answers: AnswerCache, name: string, type: number | string = 'A', klass?: number): Buffer {
  const request = question(name, type, {klass})
  const parsed = parseQuery(request)
  if (!parsed.ok) throw new Error('fixture')
  return answers.answer(parsed.query, 512, request)
}

const addresses = (reply: Buffer) => (packet.decode(reply).answers ?? []).map((a) => (a as {data: string}).data)
const rcode = (reply: Buffer) => (packet.decode(reply) as {rcode?: string}).rcode

describe('AnswerCache', () => {
  it('counts a lookup it had as a hit and one it had to build as a miss, the plain path included', () => {
    const {answers} = setup()
    ask(answers, 'web.default.svc.cluster.local')
    ask(answers, 'web.default.svc.cluster.local')
    expect([answers.hits, answers.misses]).toEqual([1, 1])
    const plain = packet.encode({id: 7, type: 'query', flags: packet.RECURSION_DESIRED, questions: [{name: 'WEB.default.svc.cluster.local', type: 'A', class: 'IN'}]})
    const reply = answers.plainAnswer(plain)
    expect(reply && packet.decode(reply)).toMatchObject({id: 7, questions: [{name: 'WEB.default.svc.cluster.local'}], answers: [{data: '10.1.0.1'}]})
    expect([answers.hits, answers.misses]).toEqual([2, 1])
  })

  it('answers SERVFAIL, and keeps serving, for a name whose records no DNS message can carry (a 64-byte id, a port over 65535)', () => {
    // An id of 64 bytes (written to etcd by another tool): its SRV target has a label too long.
    const long = registration('x'.repeat(64), '10.1.0.7', {name: 'odd'})
    const badPort = registration('p1', '10.1.0.8', {name: 'port', port: 70_000})
    const answers = new AnswerCache(sourceOf(registryWith([long, badPort, registration('w1', '10.1.0.1')])), recordOptions())
    expect(rcode(ask(answers, 'odd.default.svc.cluster.local', 'SRV'))).toBe('SERVFAIL')
    expect(rcode(ask(answers, 'port.default.svc.cluster.local', 'SRV'))).toBe('SERVFAIL')
    expect(addresses(ask(answers, 'odd.default.svc.cluster.local'))).toEqual(['10.1.0.7'])
    expect(addresses(ask(answers, 'web.default.svc.cluster.local'))).toEqual(['10.1.0.1'])
  })

  it('sends back a question whose labels hold dots as it came, and never fails on one', () => {
    const {answers} = setup()
    // labels as a mangled packet may carry them: a dot inside one, at its start, at its end
    for (const labels of [['web.default', 'svc', 'cluster', 'local'], ['.eb', 'default', 'svc', 'cluster', 'local'], ['web', 'default', 'svc', 'cluster', 'local.'], ['..']]) {
      const name = wireName(labels)
      const request = Buffer.concat([Buffer.from([0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), name, Buffer.from([0, 1, 0, 1])])
      const parsed = parseQuery(request)
      if (!parsed.ok) throw new Error('fixture')
      const reply = answers.answer(parsed.query, 512, request)
      expect(reply.subarray(12, 12 + name.length)).toEqual(name)
      expect(['NOERROR', 'NXDOMAIN', 'SERVFAIL']).toContain(rcode(reply))
    }
  })

  it('drops only the answers of the service a change touched, shortcuts included', () => {
    const {registry, answers, web} = setup()
    ask(answers, 'web.default.svc.cluster.local')
    ask(answers, 'db.default.svc.cluster.local')
    ask(answers, 'w1.web.default.svc.cluster.local')
    const plain = question('web.default.svc.cluster.local', 'A')
    expect(answers.plainAnswer(plain)).toBeDefined()
    const change = emptyChange()
    registry.putRegistration(identOf(web), {...web, address: '10.1.0.2'}, change)
    answers.invalidate(change)
    expect(answers.plainAnswer(plain)).toBeUndefined()
    const misses = answers.misses
    expect(addresses(ask(answers, 'db.default.svc.cluster.local'))).toEqual(['10.1.0.9'])
    expect(answers.misses).toBe(misses) // still cached
    expect(addresses(ask(answers, 'web.default.svc.cluster.local'))).toEqual(['10.1.0.2'])
    expect(addresses(ask(answers, 'w1.web.default.svc.cluster.local'))).toEqual(['10.1.0.2'])
    expect(answers.misses).toBe(misses + 2)
  })

  it('a cached NXDOMAIN goes when the service appears; a PTR when its address changes', () => {
    const {registry, answers} = setup()
    expect(rcode(ask(answers, 'new.default.svc.cluster.local'))).toBe('NXDOMAIN')
    expect(addresses(ask(answers, '9.0.1.10.in-addr.arpa', 'PTR'))).toEqual(['d1.db.default.svc.cluster.local'])
    const change = emptyChange()
    registry.putRegistration('default/new/n1', registration('n1', '10.1.0.7', {name: 'new'}), change)
    registry.putRegistration('default/db/d1', undefined, change)
    answers.invalidate(change)
    expect(addresses(ask(answers, 'new.default.svc.cluster.local'))).toEqual(['10.1.0.7'])
    expect(rcode(ask(answers, '9.0.1.10.in-addr.arpa', 'PTR'))).toBe('NXDOMAIN')
  })

  it('a resync drops everything', () => {
    const {answers} = setup()
    ask(answers, 'db.default.svc.cluster.local')
    expect(answers.size).toBeGreaterThan(0)
    answers.invalidate({...emptyChange(), all: true})
    expect(answers.size).toBe(0)
  })

  it('keeps at most 50,000 answers however many types one name is asked with', () => {
    const {answers} = setup()
    let most = 0
    for (let type = 1; type <= 50_100; type++) {
      ask(answers, 'web.default.svc.cluster.local', type)
      most = Math.max(most, answers.size)
    }
    expect(most).toBeLessThanOrEqual(100_000) // answers plus their raw-question shortcuts
    expect(answers.size).toBeLessThan(1000) // it started over at the cap
  })

  it('keeps no raw-question shortcut for a class other than IN', () => {
    const {answers} = setup()
    for (let klass = 2; klass < 500; klass++) ask(answers, 'web.default.svc.cluster.local', 'A', klass)
    expect(answers.size).toBe(1) // the one answer, no shortcuts
    ask(answers, 'web.default.svc.cluster.local', 'A', 1)
    expect(answers.size).toBe(2)
  })

  it('tells the metrics zone of each answer it hands out', () => {
    const {registry} = setup()
    const answers = new AnswerCache(sourceOf(registry), recordOptions({hostEntries: [{name: 'gw.corp.example', addresses: ['192.0.2.1']}]}), (name) => (name.endsWith('cluster.local') ? 0 : 3))
    ask(answers, 'gw.corp.example')
    expect(answers.lastZone).toBe(3)
    ask(answers, 'web.default.svc.cluster.local')
    expect(answers.lastZone).toBe(0)
    answers.plainAnswer(question('gw.corp.example', 'A'))
    expect(answers.lastZone).toBe(3)
  })
})
