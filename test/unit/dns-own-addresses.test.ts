import {describe, expect, it} from '@jest/globals'
import {ownAddresses} from '../../src/dns/own-addresses.js'

const nic = (address: string, family: 'IPv4' | 'IPv6', internal = false) => ({address, family, internal, netmask: '', mac: '', cidr: null}) as never

describe("the NS target's addresses", () => {
  const interfaces = {
    lo: [nic('127.0.0.1', 'IPv4', true), nic('::1', 'IPv6', true)],
    eth0: [nic('10.0.0.5', 'IPv4'), nic('fe80::1', 'IPv6'), nic('fd00::5', 'IPv6')],
  }

  it.each([
    ['a specific address is itself', ['127.0.0.1'], ['127.0.0.1']],
    ['0.0.0.0: every IPv4 address but loopback', ['0.0.0.0'], ['10.0.0.5']],
    [':: : every IPv6 address but loopback and link-local', ['::'], ['fd00::5']],
    ['both wildcards, and no address twice', ['0.0.0.0', '::', '10.0.0.5'], ['10.0.0.5', 'fd00::5']],
  ])('%s', (_label, hosts, expected) => {
    expect(ownAddresses(hosts.map((host) => ({host, port: 53})), interfaces)).toEqual(expected)
  })

  it('falls back to loopback on a host with nothing else', () => {
    expect(ownAddresses([{host: '0.0.0.0', port: 53}], {lo: interfaces.lo})).toEqual(['127.0.0.1'])
  })
})
