import {describe, expect, it} from '@jest/globals'
import {type VxlanBackend, overlayMtu, parseNetworkConfig, parseNetworkConfigText, podMtu, poolSize, subnetPools} from '../../src/net/network-config.js'

const ok = (raw: unknown) => {
  const result = parseNetworkConfig(raw)
  if (!result.ok) throw new Error(JSON.stringify(result.problems))
  return result.config
}
const problems = (raw: unknown) => {
  const result = parseNetworkConfig(raw)
  if (result.ok) throw new Error('expected problems')
  return result.problems
}

describe("flannel's config defaults", () => {
  it.each([
    // network, expected SubnetLen, SubnetMin, SubnetMax
    ['10.5.0.0/16', 24, '10.5.1.0', '10.5.255.0'],
    ['10.5.0.0/22', 24, '10.5.1.0', '10.5.3.0'],
    ['10.5.0.0/23', 25, '10.5.0.128', '10.5.1.128'],
    ['10.5.0.0/28', 30, '10.5.0.4', '10.5.0.12'],
    ['10.0.0.0/8', 24, '10.0.1.0', '10.255.255.0'],
  ])('%s -> /%d from %s to %s', (network, len, min, max) => {
    const config = ok({Network: network})
    expect(config).toMatchObject({Network: network, SubnetLen: len, SubnetMin: min, SubnetMax: max, EnableIPv4: true, EnableIPv6: false})
    expect(config.Backend).toEqual({Type: 'vxlan', VNI: 1, Port: 8472, MTU: 0, GBP: false, Learning: false, DirectRouting: false})
  })

  it('masks host bits of Network as flannel does', () => {
    expect(ok({Network: '10.5.7.9/16'}).Network).toBe('10.5.0.0/16')
  })

  it('reads field names case-insensitively, as Go does', () => {
    const config = ok({network: '10.7.0.0/16', subnetlen: 26, backend: {type: 'vxlan', vni: 42, port: 4789, directrouting: true}})
    expect(config).toMatchObject({Network: '10.7.0.0/16', SubnetLen: 26})
    expect(config.Backend).toMatchObject({VNI: 42, Port: 4789, DirectRouting: true})
  })

  it('reads port 0 as the kernel default 8472 and VNI 0 as 1', () => {
    expect(ok({Network: '10.5.0.0/16', Backend: {Type: 'vxlan', VNI: 0, Port: 0}}).Backend).toMatchObject({VNI: 1, Port: 8472})
  })

  it('fills IPv6 defaults for dual stack', () => {
    const config = ok({Network: '10.42.0.0/16', EnableIPv6: true, IPv6Network: '2001:cafe:42::/56'})
    expect(config).toMatchObject({IPv6SubnetLen: 64, IPv6SubnetMin: '2001:cafe:42:1::', IPv6SubnetMax: '2001:cafe:42:ff::'})
    expect(subnetPools(config).map((p) => p.family)).toEqual([4, 6])
  })

  it('counts the subnets of a pool', () => {
    expect(poolSize(subnetPools(ok({Network: '10.5.0.0/16'}))[0])).toBe(255n)
  })

  it('computes the overlay MTU: 50 bytes of VXLAN over IPv4, 70 over IPv6, none for host-gw', () => {
    const backend = ok({Network: '10.5.0.0/16'}).Backend as VxlanBackend
    expect(overlayMtu(backend, 1500)).toBe(1450)
    expect(overlayMtu({...backend, MTU: 9000}, 1500)).toBe(8950)
    expect(overlayMtu(backend, 1500, 6)).toBe(1430)
    expect(overlayMtu({Type: 'host-gw'}, 1500, 6)).toBe(1500)
  })

  it.each([
    [{Network: '10.5.0.0/16'}, 1450],
    [{Network: '10.5.0.0/16', EnableIPv6: true, IPv6Network: 'fd00::/48'}, 1430],
    [{EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fd00::/48'}, 1430],
    [{Network: '10.5.0.0/16', EnableIPv6: true, IPv6Network: 'fd00::/48', Backend: {Type: 'host-gw'}}, 1500],
  ])('the pod MTU of %j fits every device: %i', (raw, mtu) => {
    expect(podMtu(ok(raw), 1500)).toBe(mtu)
  })

  it.each([
    [{Type: 'host-gw'}, {Type: 'host-gw'}],
    [{Type: 'Host-GW', VNI: 4}, {Type: 'host-gw'}],
    [{Type: 'VXLAN', VNI: 4}, {Type: 'vxlan', VNI: 4, Port: 8472}],
  ])('reads the backend %j as flannel does (type case-insensitive, host-gw without settings)', (backend, expected) => {
    expect(ok({Network: '10.5.0.0/16', Backend: backend}).Backend).toMatchObject(expected)
    if (expected.Type === 'host-gw') expect(ok({Network: '10.5.0.0/16', Backend: backend}).Backend).toEqual(expected)
  })
})

describe('config problems name the field', () => {
  it.each([
    [{Network: 'banana'}, 'Network', /not an IPv4 CIDR/],
    [{}, 'Network', /is required/],
    [{Network: '10.5.0.0/29'}, 'Network', /too small/],
    [{Network: '10.5.0.0/16', SubnetLen: 31}, 'SubnetLen', /at most 30/],
    [{Network: '10.5.0.0/16', SubnetLen: 17}, 'SubnetLen', /at least 18/],
    [{Network: '10.5.0.0/16', SubnetLen: 'x'}, 'SubnetLen', /whole number/],
    [{Network: '10.5.0.0/16', SubnetMin: '10.6.0.0'}, 'SubnetMin', /outside the network/],
    [{Network: '10.5.0.0/16', SubnetMax: '10.5.3.7'}, 'SubnetMax', /boundary/],
    [{Network: '10.5.0.0/16', SubnetMin: '10.5.9.0', SubnetMax: '10.5.3.0'}, 'SubnetMin', /above SubnetMax/],
    [{Network: '10.5.0.0/16', Backend: {Type: 'udp'}}, 'Backend.Type', /not supported: cnet implements "vxlan" and "host-gw"/],
    [{Network: '10.5.0.0/16', Backend: {Type: 'vxlan', VNI: 16777216}}, 'Backend.VNI', /out of range/],
    [{Network: '10.5.0.0/16', Backend: {Type: 'vxlan', Port: 70000}}, 'Backend.Port', /out of range/],
    [{Network: '10.5.0.0/16', EnableIPv6: true}, 'IPv6Network', /is required/],
    [{Network: 'fd00::/48'}, 'Network', /not an IPv4 CIDR/],
    [{Network: '10.5.0.0/16', EnableIPv4: false, EnableIPv6: false}, 'EnableIPv4', /at least one/],
  ])('%j -> %s', (raw, fieldName, message) => {
    const found = problems(raw)
    expect(found.map((p) => p.field)).toContain(fieldName)
    expect(found.find((p) => p.field === fieldName)!.message).toMatch(message)
  })

  it('reports JSON that does not parse', () => {
    const result = parseNetworkConfigText('{"Network": ')
    expect(result.ok).toBe(false)
  })
})
