import * as packet from 'dns-packet'
import {describe, expect, it} from '@jest/globals'
import {echoQuestionCase, matchesPlainKey, plainQuestionHash, plainQuestionKey} from '../../src/dns/plain-question.js'

const query = (name: string, type: string, extra: Partial<packet.Packet> = {}) =>
  packet.encode({id: 9, type: 'query', flags: packet.RECURSION_DESIRED, questions: [{name, type, class: 'IN'} as packet.Question], ...extra})

describe('plain questions', () => {
  it('hashes and matches a question whatever the case of its name', () => {
    const lower = query('web.default.svc.cluster.local', 'A')
    const mixed = query('WeB.Default.SVC.cluster.local', 'A')
    expect(plainQuestionHash(lower)).toBeGreaterThanOrEqual(0)
    expect(plainQuestionHash(mixed)).toBe(plainQuestionHash(lower))
    expect(matchesPlainKey(mixed, plainQuestionKey(lower))).toBe(true)
  })

  it('tells apart types whose bytes differ only as letters would in case (65 and 97), other names and RD', () => {
    const key = plainQuestionKey(query('web.x', 'UNKNOWN_65'))
    expect(matchesPlainKey(query('web.x', 'UNKNOWN_97'), key)).toBe(false)
    expect(matchesPlainKey(query('web.y', 'UNKNOWN_65'), key)).toBe(false)
    const noRd = packet.encode({id: 9, type: 'query', flags: 0, questions: [{name: 'web.x', type: 'UNKNOWN_65', class: 'IN'} as unknown as packet.Question]})
    expect(matchesPlainKey(noRd, key)).toBe(false)
  })

  it('is not plain with EDNS, another opcode, a response, two questions, trailing bytes or a truncated name', () => {
    const withOpt = query('web.x', 'A', {additionals: [{type: 'OPT', name: '.', udpPayloadSize: 1232} as unknown as packet.Answer]})
    expect(plainQuestionHash(withOpt)).toBe(-1)
    const notify = Buffer.from(query('web.x', 'A'))
    notify[2] |= 4 << 3
    expect(plainQuestionHash(notify)).toBe(-1)
    const response = Buffer.from(query('web.x', 'A'))
    response[2] |= 0x80
    expect(plainQuestionHash(response)).toBe(-1)
    expect(plainQuestionHash(packet.encode({id: 1, type: 'query', questions: [{name: 'a.x', type: 'A'}, {name: 'b.x', type: 'A'}] as packet.Question[]}))).toBe(-1)
    expect(plainQuestionHash(Buffer.concat([query('web.x', 'A'), Buffer.from([0])]))).toBe(-1)
    expect(plainQuestionHash(query('web.x', 'A').subarray(0, 16))).toBe(-1)
  })

  it("writes the asker's spelling over a reply's question", () => {
    const reply = Buffer.from(query('web.x', 'A'))
    const asked = query('WEB.x', 'A')
    echoQuestionCase(reply, asked, asked.length - 4)
    expect(packet.decode(reply).questions![0]!.name).toBe('WEB.x')
  })
})

describe('echoQuestionCase leaves alone', () => {
  it('a reply without a question, and one whose question is another name', () => {
    const asked = query('WEB.x', 'A')
    const noQuestion = Buffer.from(query('web.x', 'A'))
    noQuestion.writeUInt16BE(0, 4)
    const before = Buffer.from(noQuestion)
    echoQuestionCase(noQuestion, asked, asked.length - 4)
    expect(noQuestion).toEqual(before)
    const other = Buffer.from(query('xyz.x', 'A'))
    const otherBefore = Buffer.from(other)
    echoQuestionCase(other, asked, asked.length - 4)
    expect(other).toEqual(otherBefore)
  })
})

describe('ReplyBatch', () => {
  it('sends the rest of a burst when one reply cannot be sent, and nothing after close', async () => {
    const {ReplyBatch} = await import('../../src/dns/reply-batch.js')
    const sent: number[] = []
    const socket = {
      send: (_reply: Buffer, port: number) => {
        if (port === 0) throw new Error('bad port')
        sent.push(port)
      },
    }
    const batch = new ReplyBatch(socket as never)
    for (const port of [1000, 0, 1001]) batch.send(Buffer.from([1]), port, '127.0.0.1')
    expect(sent).toEqual([]) // held until the batch ends
    await new Promise((resolve) => setImmediate(resolve))
    expect(sent).toEqual([1000, 1001])
    batch.send(Buffer.from([1]), 1002, '127.0.0.1')
    batch.close()
    batch.send(Buffer.from([1]), 1003, '127.0.0.1')
    await new Promise((resolve) => setImmediate(resolve))
    expect(sent).toEqual([1000, 1001, 1002])
  })
})
