import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from '@jest/globals'
import {SystemCommandError} from '../../src/lib/errors.js'
import type {CommandResult, RunOptions} from '../../src/lib/run-command.js'
import {parseCidr} from '../../src/net/ip.js'
import {IpKernel} from '../../src/net/vxlan/ip-kernel.js'

/** The real kernel seam with a fake runner: which commands it runs, with what input and timeout. */
type Call = {command: string; args: string[]; options: RunOptions}

function fakeRunner(answer: (command: string, args: string[]) => Partial<CommandResult>) {
  const calls: Call[] = []
  const run = async (command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> => {
    calls.push({command, args: [...args], options})
    const a = answer(command, [...args])
    const result: CommandResult = {stdout: '', stderr: '', all: '', exitCode: 0, timedOut: false, canceled: false, signal: undefined, startError: undefined, durationMs: 1, ...a}
    if (result.exitCode !== 0 && !options.allowFailure) throw new SystemCommandError(`vxlan: ${command} ${args.join(' ')}: exited ${result.exitCode}: ${result.stderr}`)
    return result
  }
  return {calls, run}
}

const DEVICE_JSON = JSON.stringify([{ifname: 'cnet-v6.1', flags: ['UP'], mtu: 1430, address: '02:00:00:00:60:01', linkinfo: {info_kind: 'vxlan', info_data: {id: 1, local6: '2001:db8::1', link: 'eth0', port: 8472}}, addr_info: [{family: 'inet6', local: 'fd00:0:0:1::', prefixlen: 128, scope: 'global'}, {family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link'}]}])

describe('IpKernel', () => {
  it('reads an IPv6 device with -6 where the family matters, inside the namespace, each call with its timeout', async () => {
    const {calls, run} = fakeRunner((_c, args) => {
      if (args.includes('addr')) return {stdout: DEVICE_JSON}
      if (args.includes('neigh')) return {stdout: JSON.stringify([{dst: 'fd00:0:0:2::', lladdr: '02:00:00:00:60:02', state: ['PERMANENT']}, {dst: '10.5.2.0', lladdr: '02:00:00:00:00:02', state: ['PERMANENT']}])}
      if (args.includes('fdb')) return {stdout: JSON.stringify([{mac: '02:00:00:00:60:02', dst: '2001:db8::2', flags: ['self'], state: 'permanent'}, {mac: '33:33:00:00:00:01', flags: ['self'], state: 'permanent'}])}
      if (args.includes('cnet-v6.1')) return {stdout: JSON.stringify([{dst: 'fd00:0:0:2::/64', gateway: 'fd00:0:0:2::', flags: ['onlink']}, {dst: 'fe80::/64', protocol: 'kernel'}])}
      return {stdout: JSON.stringify([{dst: 'fd00:0:0:9::/64', gateway: '2001:db8::9'}, {dst: '2001:db8::/64', protocol: 'kernel'}])}
    })
    const kernel = new IpKernel({netns: 'ns1', run, timeoutMs: 1234})
    const actual = await kernel.readActual({family: 6, device: 'cnet-v6.1', underlay: 'eth0', network: parseCidr('fd00::/48')!})
    expect(actual).toEqual({
      device: {name: 'cnet-v6.1', isVxlan: true, vni: 1, port: 8472, local: '2001:db8::1', underlay: 'eth0', mac: '02:00:00:00:60:01', mtu: 1430, up: true},
      addresses: ['fd00:0:0:1::/128'],
      neighs: [{ip: 'fd00:0:0:2::', mac: '02:00:00:00:60:02'}],
      fdbs: [{mac: '02:00:00:00:60:02', dst: '2001:db8::2'}],
      routes: [{dst: 'fd00:0:0:2::/64', via: 'fd00:0:0:2::', dev: 'cnet-v6.1', onlink: true}, {dst: 'fd00:0:0:9::/64', via: '2001:db8::9', dev: 'eth0', onlink: false}],
    })
    expect(calls.map((c) => [c.command, ...c.args].join(' ')).sort()).toEqual([
      'bridge -n ns1 -j fdb show dev cnet-v6.1',
      'ip -n ns1 -6 -j neigh show dev cnet-v6.1',
      'ip -n ns1 -6 -j route show dev cnet-v6.1',
      'ip -n ns1 -6 -j route show dev eth0',
      'ip -n ns1 -j -d addr show dev cnet-v6.1',
    ])
    expect(calls.every((c) => c.options.timeoutMs === 1234)).toBe(true)
  })

  it('a device that does not exist reads as absent; host-gw reads only the underlay', async () => {
    const {calls, run} = fakeRunner((_c, args) => (args.includes('addr') ? {exitCode: 1, stderr: 'Device "cnet.1" does not exist.'} : {stdout: '[]'}))
    const kernel = new IpKernel({run})
    expect(await kernel.readActual({family: 4, device: 'cnet.1', underlay: 'eth0', network: parseCidr('10.5.0.0/16')!})).toEqual({addresses: [], neighs: [], fdbs: [], routes: []})
    calls.length = 0
    await kernel.readActual({family: 4, underlay: 'eth0', network: parseCidr('10.5.0.0/16')!})
    expect(calls.map((c) => c.args.join(' '))).toEqual(['-j route show dev eth0'])
  })

  it('any other failure of a read is a SystemCommandError naming the command', async () => {
    const {run} = fakeRunner(() => ({exitCode: 255, stderr: 'Cannot open netlink socket: Operation not permitted'}))
    await expect(new IpKernel({run}).readActual({family: 4, device: 'cnet.1', underlay: 'eth0', network: parseCidr('10.5.0.0/16')!})).rejects.toThrow(/ip -j -d addr show dev cnet.1.*exited 255/)
    const garbage = fakeRunner(() => ({stdout: 'not json'}))
    await expect(new IpKernel({run: garbage.run}).linkNames()).rejects.toThrow(SystemCommandError)
  })

  it('applies in phases on stdin; ip6tables for IPv6; iptables-restore inside the namespace', async () => {
    const {calls, run} = fakeRunner(() => ({stdout: ''}))
    const kernel = new IpKernel({netns: 'ns1', run})
    await kernel.apply([
      {op: 'neigh-replace', dev: 'cnet.1', ip: '10.5.2.0', mac: '02:00:00:00:00:02'},
      {op: 'fdb-replace', dev: 'cnet.1', mac: '02:00:00:00:00:02', dst: '192.168.1.2'},
      {op: 'route-replace', route: {dst: '10.5.2.0/24', via: '10.5.2.0', dev: 'cnet.1', onlink: true}},
    ])
    await kernel.iptablesRestore(6, '*nat\nCOMMIT\n')
    await kernel.iptablesSave(4)
    // One round: the neighbour and then the route in one ip batch, beside the bridge batch.
    expect(calls.map((c) => [c.command, ...c.args].join(' '))).toEqual([
      'ip -n ns1 -batch -',
      'bridge -n ns1 -batch -',
      'ip netns exec ns1 ip6tables-restore --noflush',
      'ip netns exec ns1 iptables-save',
    ])
    expect(calls[0].options.input).toBe('neigh replace 10.5.2.0 lladdr 02:00:00:00:00:02 dev cnet.1 nud permanent\nroute replace 10.5.2.0/24 via 10.5.2.0 dev cnet.1 onlink\n')
    expect(calls[1].options.input).toBe('fdb replace 02:00:00:00:00:02 dev cnet.1 dst 192.168.1.2 self permanent\n')
    expect(calls[2].options.input).toBe('*nat\nCOMMIT\n')
  })

  it('asks the kernel once whether it has nexthop objects: yes where `ip nexthop show` works, no where it fails', async () => {
    const yes = fakeRunner(() => ({stdout: ''}))
    const kernel = new IpKernel({netns: 'ns1', run: yes.run})
    expect([await kernel.nexthops(), await kernel.nexthops()]).toEqual([true, true])
    expect(yes.calls.map((c) => [c.command, ...c.args].join(' '))).toEqual(['ip -n ns1 nexthop show dev lo'])
    const old = fakeRunner(() => ({exitCode: 255, stderr: 'Object "nexthop" is unknown, try "ip help".'}))
    expect(await new IpKernel({run: old.run}).nexthops()).toBe(false)
    const unsupported = fakeRunner(() => ({exitCode: 2, stderr: 'Error: Operation not supported.'}))
    expect(await new IpKernel({run: unsupported.run}).nexthops()).toBe(false)
    const told = fakeRunner(() => ({stdout: ''}))
    expect(await new IpKernel({run: told.run, nexthops: false}).nexthops()).toBe(false)
    expect(told.calls).toEqual([])
  })

  it('writes a route through its nexthop in the same ip batch, and removes it by the nexthop', async () => {
    const {calls, run} = fakeRunner(() => ({stdout: ''}))
    const route = {dst: '10.5.2.0/24', via: '10.5.2.0', dev: 'cnet.1', onlink: true, nhid: 168100352}
    await new IpKernel({run}).apply([{op: 'neigh-replace', dev: 'cnet.1', ip: '10.5.2.0', mac: '02:00:00:00:00:02'}, {op: 'route-replace', route}])
    await new IpKernel({run}).apply([{op: 'route-del', route}])
    expect(calls.map((c) => c.options.input)).toEqual([
      'neigh replace 10.5.2.0 lladdr 02:00:00:00:00:02 dev cnet.1 nud permanent\nnexthop replace id 168100352 via 10.5.2.0 dev cnet.1 onlink\nroute replace 10.5.2.0/24 nhid 168100352\n',
      'nexthop del id 168100352\n',
    ])
  })

  it('an ip that hangs when asked about nexthop objects is a SystemCommandError, and the next call asks again', async () => {
    let hung = true
    const {calls, run} = fakeRunner(() => (hung ? {exitCode: undefined, timedOut: true, signal: 'SIGKILL'} : {stdout: ''}))
    const kernel = new IpKernel({run, timeoutMs: 50})
    await expect(kernel.nexthops()).rejects.toThrow(SystemCommandError)
    hung = false
    expect(await kernel.nexthops()).toBe(true)
    expect(calls).toHaveLength(2)
  })

  it('lists the underlay with its global addresses of both families, link names and routes', async () => {
    const {run} = fakeRunner((_c, args) => {
      if (args.includes('addr')) return {stdout: JSON.stringify([{ifname: 'lo', mtu: 65536, addr_info: [{family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host'}]}, {ifname: 'eth0', mtu: 9000, addr_info: [{family: 'inet', local: '192.168.1.1', prefixlen: 24, scope: 'global'}, {family: 'inet6', local: '2001:db8::1', prefixlen: 64, scope: 'global'}, {family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link'}]}])}
      if (args.includes('link')) return {stdout: JSON.stringify([{ifname: 'lo'}, {ifname: 'cnet.1'}])}
      return {stdout: JSON.stringify([{dst: 'default', gateway: '192.168.1.254', dev: 'eth0'}, {dst: '10.5.2.0/24', gateway: '192.168.1.2', dev: 'eth0', protocol: 'boot'}])}
    })
    const kernel = new IpKernel({run})
    expect(await kernel.findUnderlay({address: '192.168.1.1'})).toEqual({name: 'eth0', mtu: 9000, addresses: [{family: 4, address: '192.168.1.1', prefix: 24}, {family: 6, address: '2001:db8::1', prefix: 64}]})
    expect(await kernel.findUnderlay({iface: 'wlan0', address: '192.168.1.1'})).toBeUndefined()
    expect(await kernel.linkNames()).toEqual(['lo', 'cnet.1'])
    expect(await kernel.routes(4)).toEqual([{dst: 'default', via: '192.168.1.254', dev: 'eth0', protocol: undefined}, {dst: '10.5.2.0/24', via: '192.168.1.2', dev: 'eth0', protocol: 'boot'}])
  })
})

describe('IpKernel with the real runner and a command that hangs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cnet-hang-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  it('an iptables-restore that never answers is killed at the timeout: a clear SystemCommandError, exit 6', async () => {
    const hang = join(dir, 'iptables-restore')
    writeFileSync(hang, '#!/bin/sh\nexec sleep 30\n')
    chmodSync(hang, 0o755)
    const kernel = new IpKernel({timeoutMs: 150, tools: {'iptables-restore': hang}})
    const started = Date.now()
    const error = await kernel.iptablesRestore(4, '*nat\nCOMMIT\n').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SystemCommandError)
    expect((error as SystemCommandError).exitCode).toBe(6)
    expect((error as SystemCommandError).message).toMatch(/^vxlan: .*iptables-restore --noflush: did not finish within 150 ms and was killed/)
    expect((error as SystemCommandError).failure?.timedOut).toBe(true)
    expect(Date.now() - started).toBeLessThan(10_000)
  })
})
