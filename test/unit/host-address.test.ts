import {describe, expect, it} from '@jest/globals'
import {InvalidValueError} from '../../src/lib/errors.js'
import type {CommandResult, RunOptions} from '../../src/lib/run-command.js'
import {localAddresses, parsePublicIpv6, resolveHostAddress, resolvePublicIpv6} from '../../src/net/host-address.js'

/** `ip -j addr show` and the default routes of a made-up host, answered by a fake runner. */
const ADDRS = [
  {ifname: 'lo', mtu: 65536, addr_info: [{family: 'inet', local: '127.0.0.1', scope: 'host'}, {family: 'inet6', local: '::1', scope: 'host'}]},
  {ifname: 'eth0', mtu: 9000, addr_info: [{family: 'inet', local: '192.168.1.5'}, {family: 'inet6', local: '2001:db8:0:0::5', scope: 'global', temporary: true}, {family: 'inet6', local: '2001:db8::6', scope: 'global'}, {family: 'inet6', local: 'fe80::1', scope: 'link'}]},
  {ifname: 'v6only', mtu: 1400, addr_info: [{family: 'inet6', local: '2001:db8:1::7', scope: 'global'}]},
  {ifname: 'bare', mtu: 1500, addr_info: []},
]

function fake(routes: {v4?: {dev?: string}[]; v6?: {dev?: string}[]} = {v4: [{dev: 'eth0'}], v6: [{dev: 'eth0'}]}) {
  const calls: string[] = []
  const run = async (command: string, args: readonly string[], _options?: RunOptions): Promise<CommandResult> => {
    calls.push([command, ...args].join(' '))
    const stdout = args.includes('addr') ? JSON.stringify(ADDRS) : JSON.stringify(args.includes('-6') ? (routes.v6 ?? []) : (routes.v4 ?? []))
    return {stdout, stderr: '', all: '', exitCode: 0, timedOut: false, canceled: false, signal: undefined, startError: undefined, durationMs: 1}
  }
  return {run, calls}
}

describe('this host\'s public addresses', () => {
  it.each<[string, Parameters<typeof resolveHostAddress>[0], ReturnType<typeof fake>, Record<string, unknown>]>([
    ['--public-ip as given, MTU of the interface holding it', {publicIp: '192.168.1.5'}, fake(), {publicIp: '192.168.1.5', iface: 'eth0', mtu: 9000}],
    ['--public-ip held by no interface (NAT): MTU 1500', {publicIp: '203.0.113.9'}, fake(), {publicIp: '203.0.113.9', iface: undefined, mtu: 1500}],
    ['--iface: its first IPv4 address', {iface: 'eth0'}, fake(), {publicIp: '192.168.1.5', iface: 'eth0', mtu: 9000}],
    ['the default route\'s interface', {}, fake(), {publicIp: '192.168.1.5', iface: 'eth0', mtu: 9000}],
    ['no IPv4 default route: none, the MTU from the IPv6 one', {}, fake({v4: [], v6: [{dev: 'v6only'}]}), {publicIp: undefined, iface: 'v6only', mtu: 1400}],
    ['--iface without IPv4', {iface: 'v6only'}, fake(), {publicIp: undefined, iface: 'v6only', mtu: 1400}],
  ])('%s', async (_what, options, {run}, expected) => {
    const host = await resolveHostAddress(options, run)
    expect({publicIp: host.publicIp, iface: host.iface, mtu: host.mtu}).toEqual(expected)
    expect(host.missingIpv4 === undefined).toBe(expected.publicIp !== undefined)
  })

  it.each<[Parameters<typeof resolveHostAddress>[0], string, RegExp]>([
    [{publicIp: 'fd00::1'}, 'public-ip', /is not an IPv4 address/],
    [{iface: 'wlan0'}, 'iface', /no interface named "wlan0"/],
    [{publicIpv6: '10.0.0.1'}, 'public-ipv6', /is not an IPv6 address/],
    [{publicIpv6: 'fe80::1'}, 'public-ipv6', /not a global unicast/],
  ])('refuses %j by the field %s', async (options, field, message) => {
    const error = await resolveHostAddress(options, fake().run).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InvalidValueError)
    expect(error).toMatchObject({field})
    expect((error as Error).message).toMatch(message)
  })

  it.each<[string, Parameters<typeof resolvePublicIpv6>[0], ReturnType<typeof fake>, string | undefined]>([
    ['the flag', {kind: 'flag', address: '2001:db8::9'}, fake(), '2001:db8::9'],
    ['an interface: stable before temporary', {kind: 'iface', name: 'eth0'}, fake(), '2001:db8::6'],
    ['the default IPv6 route', {kind: 'default-route'}, fake({v6: [{dev: 'v6only'}]}), '2001:db8:1::7'],
    ['no default IPv6 route: none', {kind: 'default-route'}, fake({v6: []}), undefined],
  ])('PublicIPv6 from %s', async (_what, source, {run}, expected) => {
    expect(await resolvePublicIpv6(source, run)).toBe(expected)
  })

  it('an interface without a global IPv6 address is refused for PublicIPv6', async () => {
    await expect(resolvePublicIpv6({kind: 'iface', name: 'bare'}, fake().run)).rejects.toMatchObject({field: 'iface'})
  })

  it('lists every address of the host in canonical form', async () => {
    expect(await localAddresses(fake().run)).toEqual(['127.0.0.1', '::1', '192.168.1.5', '2001:db8::5', '2001:db8::6', 'fe80::1', '2001:db8:1::7'])
  })

  it('canonicalises an IPv6 address', () => {
    expect(parsePublicIpv6('2001:DB8:0:0:0:0:0:9')).toBe('2001:db8::9')
  })
})
