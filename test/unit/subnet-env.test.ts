import {describe, expect, it} from '@jest/globals'
import {formatCidr, parseCidr} from '../../src/net/ip.js'
import {formatSubnetEnv, parseSubnetEnv} from '../../src/net/subnet-env.js'

describe("flannel's subnet.env", () => {
  it('writes the exact lines flannel writes', () => {
    const text = formatSubnetEnv({network: parseCidr('10.5.0.0/16'), subnet: parseCidr('10.5.52.0/24'), mtu: 1450, ipMasq: false})
    expect(text).toBe('FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.52.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n')
  })

  it('writes dual stack', () => {
    const text = formatSubnetEnv({
      network: parseCidr('10.42.0.0/16'),
      subnet: parseCidr('10.42.1.0/24'),
      ipv6Network: parseCidr('2001:cafe:42::/56'),
      ipv6Subnet: parseCidr('2001:cafe:42:1::/64'),
      mtu: 1450,
      ipMasq: true,
    })
    expect(text).toContain('FLANNEL_IPV6_NETWORK=2001:cafe:42::/56\nFLANNEL_IPV6_SUBNET=2001:cafe:42:1::1/64\n')
  })

  it('reads the subnet back as its network address', () => {
    const parsed = parseSubnetEnv('FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.52.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n')
    if (!parsed.ok) throw new Error(parsed.problem)
    expect(formatCidr(parsed.env.subnet!)).toBe('10.5.52.0/24')
    expect(parsed.env).toMatchObject({mtu: 1450, ipMasq: true})
  })

  it.each([
    ['FLANNEL_SUBNET=10.5.52.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false', /FLANNEL_NETWORK is missing/],
    ['FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.52.1/24\nFLANNEL_IPMASQ=false', /FLANNEL_MTU is missing/],
    ['FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.52.1/24\nFLANNEL_MTU=1450', /FLANNEL_IPMASQ is missing/],
    ['FLANNEL_NETWORK=nope\nFLANNEL_SUBNET=10.5.52.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false', /not a CIDR/],
  ])('refuses an incomplete file (%#)', (text, problem) => {
    const parsed = parseSubnetEnv(text)
    expect(parsed.ok).toBe(false)
    if (!parsed.ok) expect(parsed.problem).toMatch(problem)
  })
})
