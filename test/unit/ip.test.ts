import {isIP} from 'node:net'
import {describe, expect, it} from '@jest/globals'
import {cidrContains, cidrContainsIp, formatCidr, formatIp, normaliseCidr, parseCidr, parseIp} from '../../src/net/ip.js'

describe('parseIp / formatIp', () => {
  it.each([
    ['10.5.52.1', '10.5.52.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['128.0.0.1', '128.0.0.1'],
    ['2001:cafe:42:1::', '2001:cafe:42:1::'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::1', '::1'],
    ['::', '::'],
    ['fd00:0:0:1:0:0:0:0', 'fd00:0:0:1::'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:0:2:2:0:0:3', '1::2:2:0:0:3'],
    ['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0'],
    ['::ffff:1.2.3.4', '::ffff:102:304'],
  ])('%s round-trips as %s', (input, expected) => {
    const ip = parseIp(input)
    expect(ip).toBeDefined()
    expect(formatIp(ip!)).toBe(expected)
  })

  it('an IPv4 address is its 32 bits, the top one included', () => {
    expect(parseIp('10.5.52.1')!.value).toBe(0x0a053401n)
    expect(parseIp('255.255.255.254')!.value).toBe(0xfffffffen)
  })

  it.each(['', '10.5.52', '10.5.52.256', 'abc', '1.2.3.4/24', '2001:::1', '01.2.3.4', '1.2.3.04', '1..2.3', '1.2.3.4.', '.1.2.3', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.4.5', '1000.2.3.4'])('rejects %j', (input) => {
    expect(parseIp(input)).toBeUndefined()
  })

  it("takes an IPv4 address exactly when Node's isIP does", () => {
    const samples = ['0.0.0.0', '9.99.199.255', '10.0.0', '256.1.1.1', '00.1.1.1', '1.2.3.0', '1.2.3.00', '1.2.3.+4', '1.2.3.-4', '1.2.3.4\n', '１.2.3.4']
    for (const text of samples) expect([text, parseIp(text)?.family ?? 0]).toEqual([text, isIP(text)])
  })
})

describe('CIDRs', () => {
  it('parses, masks and formats', () => {
    const c = parseCidr('10.5.1.7/16')!
    expect(formatCidr(normaliseCidr(c))).toBe('10.5.0.0/16')
    expect(parseCidr('10.5.0.0/33')).toBeUndefined()
    expect(parseCidr('10.5.0.0')).toBeUndefined()
    expect(parseCidr('10.5.0.0/abc')).toBeUndefined()
    expect(formatCidr(parseCidr('fd00:42::/48')!)).toBe('fd00:42::/48')
  })

  it('tells containment', () => {
    const net = parseCidr('10.5.0.0/16')!
    expect(cidrContains(net, parseCidr('10.5.52.0/24')!)).toBe(true)
    expect(cidrContains(net, parseCidr('10.6.0.0/24')!)).toBe(false)
    expect(cidrContains(net, parseCidr('10.0.0.0/8')!)).toBe(false)
    expect(cidrContainsIp(net, parseIp('10.5.255.255')!)).toBe(true)
    expect(cidrContainsIp(net, parseIp('fd00::1')!)).toBe(false)
  })
})
