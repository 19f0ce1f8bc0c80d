import {describe, expect, it} from '@jest/globals'
import * as packet from 'dns-packet'
import {rewriteTtls} from '../../src/dns/wire.js'

describe('rewriteTtls', () => {
  const reply = () =>
    packet.encode({
      id: 7,
      type: 'response',
      flags: 0x8180,
      questions: [{name: 'a.example.test', type: 'A'}],
      answers: [
        {name: 'a.example.test', type: 'CNAME', ttl: 300, data: 'b.example.test'},
        {name: 'b.example.test', type: 'A', ttl: 60, data: '192.0.2.1'},
      ],
      authorities: [{name: 'example.test', type: 'NS', ttl: 900, data: 'ns.example.test'}],
      additionals: [{name: '.', type: 'OPT', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0x8000, options: []} as unknown as packet.Answer],
    })

  it('counts every record down, compressed names included, and leaves the OPT flags alone', () => {
    const buf = reply()
    expect(rewriteTtls(buf, (ttl) => ttl - 10)).toBe(true)
    const decoded = packet.decode(buf)
    expect(decoded.answers!.map((a) => (a as {ttl: number}).ttl)).toEqual([290, 50])
    expect((decoded.authorities![0] as {ttl: number}).ttl).toBe(890)
    expect((decoded.additionals![0] as unknown as {flags: number}).flags).toBe(0x8000)
  })

  it('never goes below zero', () => {
    const buf = reply()
    rewriteTtls(buf, (ttl) => ttl - 1000)
    expect(packet.decode(buf).answers!.map((a) => (a as {ttl: number}).ttl)).toEqual([0, 0])
  })

  it('sets a fixed TTL for stale answers', () => {
    const buf = reply()
    rewriteTtls(buf, () => 30)
    expect(packet.decode(buf).answers!.map((a) => (a as {ttl: number}).ttl)).toEqual([30, 30])
  })

  it('reports a packet it cannot walk', () => {
    expect(rewriteTtls(reply().subarray(0, 40), () => 1)).toBe(false)
    expect(rewriteTtls(Buffer.alloc(4), () => 1)).toBe(false)
  })
})
