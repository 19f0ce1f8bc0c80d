import {describe, expect, it} from '@jest/globals'
import * as packet from 'dns-packet'
import {type ReplyMessage, UnencodableError, writeMessage} from '../../src/dns/encode.js'
import {wireName} from '../helpers/dns-fixtures.js'

const zone = 'cluster.local'
const owner = `web.default.svc.${zone}`

function encode(message: Partial<ReplyMessage> & Pick<ReplyMessage, 'question'>, size = 65_535): Buffer {
  const out = Buffer.alloc(size)
  const length = writeMessage({flags: 0x8400, answers: [], authorities: [], additionals: [], ...message}, out)
  return length < 0 ? Buffer.alloc(0) : out.subarray(0, length)
}

const a = (data: string, name = owner) => ({name, type: 'A', ttl: 30, class: 'IN', data}) as packet.Answer

describe('writeMessage', () => {
  it('writes every record type the server builds so that a standard decoder reads them back', () => {
    const target = `web-1.${owner}`
    const soa = {mname: `ns.dns.${zone}`, rname: `hostmaster.${zone}`, serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: 5}
    const bytes = encode({
      flags: 0x8500,
      question: {name: owner, type: 33},
      answers: [
        {name: owner, type: 'SRV', ttl: 30, class: 'IN', data: {priority: 0, weight: 3, port: 8080, target}},
        {name: owner, type: 'AAAA', ttl: 30, class: 'IN', data: 'fd00::6'},
        {name: `5.0.1.10.in-addr.arpa`, type: 'PTR', ttl: 30, class: 'IN', data: target},
        {name: zone, type: 'NS', ttl: 30, class: 'IN', data: `ns.dns.${zone}`},
        {name: `dns-version.${zone}`, type: 'TXT', ttl: 0, class: 'IN', data: ['cnet-dns 1']},
      ] as packet.Answer[],
      authorities: [{name: zone, type: 'SOA', ttl: 5, data: soa} as packet.Answer],
      additionals: [a('10.1.0.1', target)],
      opt: {udpPayloadSize: 1232},
    })
    const decoded = packet.decode(bytes)
    expect(decoded).toMatchObject({type: 'response', flag_aa: true, flag_rd: true, rcode: 'NOERROR', questions: [{name: owner, type: 'SRV', class: 'IN'}]})
    expect(decoded.answers).toEqual([
      {name: owner, type: 'SRV', ttl: 30, class: 'IN', flush: false, data: {priority: 0, weight: 3, port: 8080, target}},
      {name: owner, type: 'AAAA', ttl: 30, class: 'IN', flush: false, data: 'fd00::6'},
      {name: '5.0.1.10.in-addr.arpa', type: 'PTR', ttl: 30, class: 'IN', flush: false, data: target},
      {name: zone, type: 'NS', ttl: 30, class: 'IN', flush: false, data: `ns.dns.${zone}`},
      {name: `dns-version.${zone}`, type: 'TXT', ttl: 0, class: 'IN', flush: false, data: [Buffer.from('cnet-dns 1')]},
    ])
    expect(decoded.authorities).toEqual([{name: zone, type: 'SOA', ttl: 5, class: 'IN', flush: false, data: soa}])
    expect(decoded.additionals).toMatchObject([{name: target, type: 'A', ttl: 30, data: '10.1.0.1'}, {name: '.', type: 'OPT', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, options: []}])
  })

  it('points each owner name back at the question, so ten addresses take 16 bytes each', () => {
    const answers = Array.from({length: 10}, (_, i) => a(`10.1.0.${i + 1}`))
    const bytes = encode({question: {name: owner, type: 1}, answers})
    const question = 12 + owner.length + 2 + 4
    expect(bytes.length).toBe(question + 10 * 16)
    // the first answer's owner: a pointer (0xc0) to offset 12, where the question's name is
    expect([...bytes.subarray(question, question + 2)]).toEqual([0xc0, 12])
    const dataOf = (answer: packet.Answer) => (answer as {data?: unknown}).data
    expect(packet.decode(bytes).answers!.map((answer) => [answer.name, dataOf(answer)])).toEqual(answers.map((answer) => [owner, dataOf(answer)]))
  })

  it('points to the longest tail written before, and writes an SRV target out in full (RFC 2782)', () => {
    const target = `web-1.${owner}`
    const srv = {name: owner, type: 'SRV', ttl: 30, class: 'IN', data: {priority: 0, weight: 1, port: 80, target}} as packet.Answer
    const bytes = encode({question: {name: owner, type: 33}, answers: [srv], additionals: [a('10.1.0.1', target)]})
    const rdata = 12 + owner.length + 2 + 4 + 2 + 10 + 6
    // the target: every label written, ending in the root, no pointer
    expect(bytes.subarray(rdata, rdata + target.length + 2)).toEqual(Buffer.concat([Buffer.from([5]), Buffer.from('web-1'), encodeName(owner)]))
    // the glue's owner: "web-1", then a pointer to the question's name (not into the SRV data)
    const glue = rdata + target.length + 2
    expect([...bytes.subarray(glue, glue + 8)]).toEqual([5, ...Buffer.from('web-1'), 0xc0, 12])
    expect(packet.decode(bytes).additionals![0]).toMatchObject({name: target, data: '10.1.0.1'})
  })

  it('gives back the bytes of a name read as latin1 from a query, and the root', () => {
    const name = Buffer.from([0x63, 0xe9, 0x2e, 0x6c, 0x6f, 0x63, 0x61, 0x6c]).toString('latin1') // "cé.local" as one byte per char
    const bytes = encode({question: {name, type: 1}})
    expect([...bytes.subarray(12, 12 + 10)]).toEqual([2, 0x63, 0xe9, 5, ...Buffer.from('local'), 0])
    expect([...encode({question: {name: '.', type: 2}}).subarray(12)]).toEqual([0, 0, 2, 0, 1])
  })

  it('writes a question from its wire bytes, and points to it only when its labels are its text', () => {
    const asked = wireName(['WEB', 'default', 'svc', 'cluster', 'local'])
    const plain = encode({question: {name: owner, type: 1, wire: asked}, answers: [a('10.1.0.1')]})
    expect(plain.subarray(12, 12 + asked.length)).toEqual(asked)
    expect([...plain.subarray(12 + asked.length + 4, 12 + asked.length + 6)]).toEqual([0xc0, 12])
    // one label "web.default": the same text, other labels; the owner is written out in full
    const dotted = wireName(['web.default', 'svc', 'cluster', 'local'])
    const odd = encode({question: {name: owner, type: 1, wire: dotted}, answers: [a('10.1.0.1')]})
    expect(odd.subarray(12, 12 + dotted.length)).toEqual(dotted)
    expect(odd.subarray(12 + dotted.length + 4, 12 + dotted.length + 4 + owner.length + 2)).toEqual(encodeName(owner))
  })

  it('returns -1 when the message does not fit, and throws on what it cannot write', () => {
    const answers = Array.from({length: 40}, (_, i) => a(`10.1.0.${i + 1}`))
    const out = Buffer.alloc(512)
    expect(writeMessage({flags: 0x8400, question: {name: owner, type: 1}, answers, authorities: [], additionals: []}, out)).toBe(-1)
    expect(writeMessage({flags: 0x8400, question: {name: owner, type: 1}, answers: answers.slice(0, 20), authorities: [], additionals: []}, out)).toBe(12 + owner.length + 6 + 20 * 16)
    const write = (record: object) => () => writeMessage({flags: 0, question: {name: owner, type: 1}, answers: [record as packet.Answer], authorities: [], additionals: []}, Buffer.alloc(512))
    expect(write({name: owner, type: 'MX', ttl: 1, data: {}})).toThrow('cannot encode a MX record')
    expect(write(a('10.1.0.256'))).toThrow(new UnencodableError('dns: cannot encode the A record data "10.1.0.256"'))
    expect(write(a('10.1.0.1', `${'x'.repeat(64)}.local`))).toThrow(UnencodableError)
    expect(write(a('10.1.0.1', `${'x'.repeat(64)}.local`))).toThrow('a label of 64 bytes')
    // 255 bytes on the wire is the most a name may take: 63+1 bytes a label, four of them, is 256 with the root
    const labels = (n: number, last: number) => [...Array.from({length: n}, () => 'x'.repeat(63)), 'y'.repeat(last)].join('.')
    expect(writeMessage({flags: 0, question: {name: owner, type: 1}, answers: [a('10.1.0.1', labels(3, 61))], authorities: [], additionals: []}, Buffer.alloc(512))).toBeGreaterThan(0)
    expect(write(a('10.1.0.1', labels(3, 62)))).toThrow('256 bytes')
  })
})

const encodeName = (name: string): Buffer => wireName(name.split('.'))
