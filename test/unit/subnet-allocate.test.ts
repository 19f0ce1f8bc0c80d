import {describe, expect, it} from '@jest/globals'
import {ConflictError} from '../../src/lib/errors.js'
import {formatCidr, parseCidr} from '../../src/net/ip.js'
import {parseNetworkConfig, subnetPools} from '../../src/net/network-config.js'
import {type ExistingLease, chooseSubnet, mustYield} from '../../src/net/subnet-allocate.js'
import {randomVtepMac} from '../../src/net/vtep-mac.js'

const config = parseNetworkConfig({Network: '10.7.0.0/28'})
if (!config.ok) throw new Error('bad fixture')
const pools = subnetPools(config.config) // 10.7.0.4/30, .8/30, .12/30
const held = (subnet: string, publicIp?: string, reserved = false): ExistingLease => ({
  key: subnet,
  subnets: {v4: parseCidr(subnet)!},
  attrs: publicIp ? {PublicIP: publicIp, PublicIPv6: null, BackendType: 'vxlan'} : undefined,
  reserved,
  modRevision: 1,
})

describe('chooseSubnet', () => {
  it('reuses a lease or reservation holding our public IP', () => {
    const choice = chooseSubnet({pools, leases: [held('10.7.0.4/30', '1.1.1.1'), held('10.7.0.8/30', '2.2.2.2', true)], publicIp: '2.2.2.2'})
    expect(choice.kind).toBe('reuse')
    if (choice.kind === 'reuse') expect(choice.lease.reserved).toBe(true)
  })

  it('takes the previous subnet back only when nobody holds it', () => {
    const previous = {v4: parseCidr('10.7.0.8/30')!}
    expect(chooseSubnet({pools, leases: [], publicIp: '3.3.3.3', previous})).toMatchObject({kind: 'new', reason: 'previous'})
    const taken = chooseSubnet({pools, leases: [held('10.7.0.8/30', '9.9.9.9')], publicIp: '3.3.3.3', previous, random: () => 0})
    expect(taken).toMatchObject({kind: 'new', reason: 'random'})
    if (taken.kind === 'new') expect(formatCidr(taken.subnets.v4!)).toBe('10.7.0.4/30')
  })

  it('counts a key whose value does not parse as taken', () => {
    const choice = chooseSubnet({pools, leases: [held('10.7.0.4/30'), held('10.7.0.8/30')], publicIp: '3.3.3.3'})
    if (choice.kind !== 'new') throw new Error('expected a new subnet')
    expect(formatCidr(choice.subnets.v4!)).toBe('10.7.0.12/30')
  })

  it('is out of subnets with the count and range', () => {
    const leases = ['10.7.0.4/30', '10.7.0.8/30', '10.7.0.12/30'].map((s) => held(s, '9.9.9.9'))
    expect(() => chooseSubnet({pools, leases, publicIp: '3.3.3.3'})).toThrow(ConflictError)
    expect(() => chooseSubnet({pools, leases, publicIp: '3.3.3.3'})).toThrow(/all 3 subnets from 10\.7\.0\.4\/30 to 10\.7\.0\.12\/30/)
  })
})

describe('VTEP MAC', () => {
  it('is locally administered and unicast', () => {
    expect(randomVtepMac(Buffer.from([0xff, 1, 2, 3, 4, 5]))).toBe('fe:01:02:03:04:05')
    expect(randomVtepMac(Buffer.from([0x01, 1, 2, 3, 4, 5]))).toBe('02:01:02:03:04:05')
  })
})

describe('mustYield (dual-stack keys racing for one half)', () => {
  const subnets = (v4: string, v6: string) => ({v4: parseCidr(v4)!, v6: parseCidr(v6)!})
  const other = (key: string, s: ReturnType<typeof subnets>, createRevision: number, reserved = false) => ({key, subnets: s, reserved, modRevision: createRevision, createRevision})
  const own = {key: 'a', subnets: subnets('10.5.1.0/24', 'fd00:0:0:1::/64'), createRevision: 10}

  it('yields to an older lease holding the same IPv6 subnet, keeps it against a younger one', () => {
    expect(mustYield(own, [other('a', own.subnets, 10), other('b', subnets('10.5.2.0/24', 'fd00:0:0:1::/64'), 9)])).toBe(true)
    expect(mustYield(own, [other('a', own.subnets, 10), other('b', subnets('10.5.2.0/24', 'fd00:0:0:1::/64'), 11)])).toBe(false)
  })

  it('yields to an older IPv4-only key for the same IPv4 subnet and always to a reservation', () => {
    expect(mustYield(own, [{key: 'c', subnets: {v4: parseCidr('10.5.1.0/24')!}, reserved: false, modRevision: 3, createRevision: 3}])).toBe(true)
    expect(mustYield(own, [other('d', subnets('10.5.9.0/24', 'fd00:0:0:1::/64'), 50, true)])).toBe(true)
  })

  it('ignores leases that share nothing, and itself', () => {
    expect(mustYield(own, [other('a', own.subnets, 10), other('e', subnets('10.5.3.0/24', 'fd00:0:0:3::/64'), 1)])).toBe(false)
  })
})
