import * as packet from 'dns-packet'
import {describe, expect, it} from '@jest/globals'
import {AnswerCache} from '../../src/dns/answer-cache.js'
import {parseQuery} from '../../src/dns/wire.js'

const services = new Map([['default/web/w1', {id: 'w1', name: 'web', namespace: 'default', address: '10.1.0.1', port: 80, protocol: 'tcp', tags: [], meta: {}, weight: 1, node: 't', registeredAt: ''}]])
const cache = () => new AnswerCache({services, health: new Map()} as never, {zone: 'cluster.local', ttlSeconds: 5, negativeTtlSeconds: 5, onlyPassing: false})

function ask(answers: AnswerCache, type: number, klass = 1): Buffer {
  const request = packet.encode({id: 1, type: 'query', questions: [{name: 'web.default.svc.cluster.local', type: `UNKNOWN_${type}`, class: 'IN'} as unknown as packet.Question]})
  request.writeUInt16BE(klass, request.length - 2) // dns-packet names only the known classes
  const parsed = parseQuery(request)
  if (!parsed.ok) throw new Error('fixture')
  return answers.answer(parsed.query, 512, request)
}

describe('AnswerCache bounds', () => {
  it('keeps at most 50,000 answers however many types one name is asked with', () => {
    const answers = cache()
    let most = 0
    for (let type = 1; type <= 50_100; type++) {
      ask(answers, type)
      most = Math.max(most, answers.size)
    }
    expect(most).toBeLessThanOrEqual(100_000) // answers plus their raw-question shortcuts
    expect(answers.size).toBeLessThan(1000) // it started over at the cap
  })

  it('keeps no raw-question shortcut for a class other than IN', () => {
    const answers = cache()
    for (let klass = 2; klass < 500; klass++) ask(answers, 1, klass)
    expect(answers.size).toBe(1) // the one answer, no shortcuts
    ask(answers, 1, 1)
    expect(answers.size).toBe(2)
    const plain = packet.encode({id: 7, type: 'query', questions: [{name: 'WEB.default.svc.cluster.local', type: 'A', class: 'IN'}]})
    const reply = answers.plainAnswer(plain)
    expect(reply && packet.decode(reply)).toMatchObject({id: 7, questions: [{name: 'WEB.default.svc.cluster.local'}], answers: [{data: '10.1.0.1'}]})
  })
})
