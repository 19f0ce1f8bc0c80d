import {describe, expect, it} from '@jest/globals'
import {formatCidr, parseCidr} from '../../src/net/ip.js'
import {formatLeaseAttrs, formatLeaseName, leaseFitsPools, parseLeaseAttrs, parseLeaseName} from '../../src/net/lease.js'
import {parseNetworkConfig, subnetPools} from '../../src/net/network-config.js'

describe("flannel's lease format", () => {
  it('writes the value byte for byte as flannel does', () => {
    const text = formatLeaseAttrs({PublicIP: '192.168.64.3', PublicIPv6: null, BackendType: 'vxlan', BackendData: {VNI: 1, VtepMAC: 'c6:d2:32:6f:8f:44'}})
    expect(text).toBe('{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}')
  })

  it('puts the host name last, where flannel ignores it', () => {
    const text = formatLeaseAttrs({PublicIP: '10.0.0.1', PublicIPv6: null, BackendType: 'vxlan', BackendData: {VNI: 1, VtepMAC: '0a:00:00:00:00:01'}, HostName: 'node1'})
    expect(text.endsWith(',"HostName":"node1"}')).toBe(true)
  })

  it('reads a value flannel wrote, names in any case, extra fields ignored', () => {
    const attrs = parseLeaseAttrs('{"publicip":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"vni":1,"VtepMAC":"C6:D2:32:6F:8F:44"},"Other":1}')
    expect(attrs).toEqual({PublicIP: '192.168.64.3', PublicIPv6: null, BackendType: 'vxlan', BackendData: {VNI: 1, VtepMAC: 'c6:d2:32:6f:8f:44'}})
  })

  it('reads a field in another spelling even when every other field is spelled as flannel does', () => {
    const attrs = parseLeaseAttrs('{"PublicIP":"192.168.64.3","PublicIPv6":"2001:db8:0::1","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:01"},"backendv6data":{"VNI":1,"VtepMAC":"02:00:00:00:00:02"},"hostname":"h"}')
    expect(attrs).toEqual({PublicIP: '192.168.64.3', PublicIPv6: '2001:db8::1', BackendType: 'vxlan', BackendData: {VNI: 1, VtepMAC: '02:00:00:00:00:01'}, BackendV6Data: {VNI: 1, VtepMAC: '02:00:00:00:00:02'}, HostName: 'h'})
    expect(parseLeaseAttrs('{"PublicIP":"192.168.64.3","BackendType":"host-gw"}')).toEqual({PublicIP: '192.168.64.3', PublicIPv6: null, BackendType: 'host-gw'})
  })

  it.each(['not json', '[]', '{}', '{"PublicIP":"nope"}', '{"PublicIP":"fd00::1"}'])('refuses %j', (text) => {
    expect(parseLeaseAttrs(text)).toBeUndefined()
  })

  it.each([
    ['10.5.52.0-24', '10.5.52.0/24', undefined],
    ['10.42.1.0-24&2001:cafe:42:1::-64', '10.42.1.0/24', '2001:cafe:42:1::/64'],
    ['0.0.0.0-0', '0.0.0.0/0', undefined],
    ['255.255.255.255-32', '255.255.255.255/32', undefined],
    ['128.0.0.0-1', '128.0.0.0/1', undefined],
    ['10.5.52.128-25', '10.5.52.128/25', undefined],
  ])('parses key name %s', (name, v4, v6) => {
    const subnets = parseLeaseName(name)!
    expect(formatCidr(subnets.v4!)).toBe(v4)
    expect(subnets.v6 ? formatCidr(subnets.v6) : undefined).toBe(v6)
    expect(formatLeaseName(subnets)).toBe(name)
  })

  it.each([
    'garbage',
    '10.5.52.0',
    '10.5.52.1-24',
    '10.5.52.0-33',
    '10.5.52.0-24&10.5.53.0-24',
    '',
    // Not flannel's canonical form: leading zeros, a signed or padded prefix, host bits past a /25.
    '010.5.52.0-24',
    '10.5.52.0-024',
    '10.5.52.0-+24',
    '10.5.52.0- 24',
    '10.5.52.0-',
    '10.5.52.64-25',
    '128.0.0.0-0',
    '2001:cafe:42:1:0:0:0:0-64',
    '2001:cafe:42:1::1-64',
  ])('refuses key name %j', (name) => {
    expect(parseLeaseName(name)).toBeUndefined()
  })

  it('checks a lease against a config', () => {
    const parsed = parseNetworkConfig({Network: '10.5.0.0/16'})
    if (!parsed.ok) throw new Error('bad fixture')
    const pools = subnetPools(parsed.config)
    expect(leaseFitsPools({v4: parseCidr('10.5.52.0/24')!}, pools)).toBe(true)
    expect(leaseFitsPools({v4: parseCidr('10.6.52.0/24')!}, pools)).toBe(false)
    expect(leaseFitsPools({v4: parseCidr('10.5.52.0/25')!}, pools)).toBe(false)
  })
})
