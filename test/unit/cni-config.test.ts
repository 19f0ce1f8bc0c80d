import {describe, expect, it} from '@jest/globals'
import {renderDelegate, replayDelegate} from '../../src/cni/delegate-config.js'
import {parseArgs, parseInvocation} from '../../src/cni/env.js'
import {planMasqCleanup} from '../../src/cni/masq-cleanup.js'
import {parseNetConf, peekVersion} from '../../src/cni/netconf.js'
import {CniError, errorDocument, versionDocument} from '../../src/cni/spec.js'
import {parseSubnetEnv} from '../../src/net/subnet-env.js'

const env = (text: string) => {
  const parsed = parseSubnetEnv(text)
  if (!parsed.ok) throw new Error(parsed.problem)
  return parsed.env
}
const V4 = env('FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.52.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n')
const conf = (extra: Record<string, unknown> = {}) => parseNetConf(JSON.stringify({cniVersion: '1.0.0', name: 'cnet', type: 'cnet', dataDir: '/var/lib/cni/cnet', ...extra}))

/** The CNI error code a call fails with. */
function codeOf(fn: () => unknown): number | undefined {
  try {
    fn()
  } catch (error) {
    if (error instanceof CniError) return error.code
    throw error
  }
  return undefined
}

describe('CNI network config', () => {
  it('fills in defaults', () => {
    expect(parseNetConf('{"cniVersion":"0.3.1","name":"cnet","type":"cnet"}')).toEqual({
      cniVersion: '0.3.1', name: 'cnet', type: 'cnet', subnetFile: '/run/cnet/subnet.env', dataDir: '/var/lib/cni/cnet', bridge: 'cnet0', delegate: {},
    })
  })

  it.each([
    ['not json', 6],
    ['[1]', 6],
    ['{"name":"n","type":"cnet"}', 7],
    ['{"cniVersion":"0.2.0","name":"n","type":"cnet"}', 1],
    ['{"cniVersion":"2.0.0","name":"n","type":"cnet"}', 1],
    ['{"cniVersion":"1.0.0","type":"cnet"}', 7],
    ['{"cniVersion":"1.0.0","name":"-bad","type":"cnet"}', 7],
    ['{"cniVersion":"1.0.0","name":"n"}', 7],
    ['{"cniVersion":"1.0.0","name":"n","type":"cnet","subnetFile":"relative.env"}', 7],
    ['{"cniVersion":"1.0.0","name":"n","type":"cnet","dataDir":5}', 7],
    ['{"cniVersion":"1.0.0","name":"n","type":"cnet","bridge":"a-name-far-too-long"}', 7],
    ['{"cniVersion":"1.0.0","name":"n","type":"cnet","delegate":[]}', 7],
    ['{"cniVersion":"1.0.0","name":"n","type":"cnet","delegate":{"type":"cnet"}}', 7],
    ['{"cniVersion":"1.0.0","name":"n","type":"cnet","delegate":{"ipam":"host-local"}}', 7],
    ['{"cniVersion":"1.0.0","name":"n","type":"cnet","prevResult":"x"}', 7],
  ])('%s is refused with code %d', (text, code) => {
    expect(codeOf(() => parseNetConf(text))).toBe(code)
  })

  it('errors are written in the config version when it has a usable one', () => {
    expect(peekVersion('{"cniVersion":"0.4.0"}')).toBe('0.4.0')
    expect(peekVersion('{"cniVersion":"9"}')).toBeUndefined()
    expect(peekVersion('nope')).toBeUndefined()
    expect(errorDocument(new CniError(100, 'no subnet.env', 'ENOENT'), '0.4.0')).toEqual({cniVersion: '0.4.0', code: 100, msg: 'no subnet.env', details: 'ENOENT'})
    expect(versionDocument()).toEqual({cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0']})
  })
})

describe('CNI environment', () => {
  const base = {CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/var/run/netns/p', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni:/opt/cni/bin'}

  it('reads an ADD', () => {
    expect(parseInvocation({...base, CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web'})).toEqual({
      command: 'ADD', containerId: 'c1', netns: '/var/run/netns/p', ifName: 'eth0', path: ['/usr/lib/cni', '/opt/cni/bin'], args: {IgnoreUnknown: '1', K8S_POD_NAME: 'web'},
    })
  })

  it('lets DEL go without a namespace, and VERSION without anything', () => {
    expect(parseInvocation({...base, CNI_COMMAND: 'DEL', CNI_NETNS: ''}).netns).toBeUndefined()
    expect(parseInvocation({CNI_COMMAND: 'VERSION'}).command).toBe('VERSION')
  })

  it.each([
    ['an unknown command', {CNI_COMMAND: 'GC'}],
    ['no command', {CNI_COMMAND: undefined}],
    ['no container ID', {CNI_CONTAINERID: undefined}],
    ['a container ID that is a path', {CNI_CONTAINERID: '../etc'}],
    ['an empty interface name', {CNI_IFNAME: ''}],
    ['an interface name with a slash', {CNI_IFNAME: 'eth0/../x'}],
    ['ADD without a namespace', {CNI_NETNS: undefined}],
    ['CHECK without a namespace', {CNI_COMMAND: 'CHECK', CNI_NETNS: undefined}],
  ])('refuses %s with code 4', (_label, change) => {
    expect(codeOf(() => parseInvocation({...base, ...change}))).toBe(4)
  })

  it('refuses a CNI_ARGS part that is not KEY=VALUE', () => {
    expect(codeOf(() => parseArgs('A=1;junk'))).toBe(4)
  })
})

describe('the delegate config', () => {
  it("renders flannel's bridge config from subnet.env", () => {
    expect(renderDelegate(conf(), V4)).toEqual({
      cniVersion: '1.0.0',
      name: 'cnet',
      type: 'bridge',
      bridge: 'cnet0',
      isGateway: true,
      isDefaultGateway: true,
      hairpinMode: true,
      ipMasq: true,
      mtu: 1450,
      ipam: {type: 'host-local', ranges: [[{subnet: '10.5.52.0/24'}]], routes: [{dst: '10.5.0.0/16', gw: '10.5.52.1'}], dataDir: '/var/lib/cni/cnet/_ipam'},
    })
  })

  it('does not masquerade when the host already does (FLANNEL_IPMASQ=true)', () => {
    expect(renderDelegate(conf(), {...V4, ipMasq: true}).ipMasq).toBe(false)
  })

  it('adds the IPv6 range and route in dual stack', () => {
    const dual = env('FLANNEL_NETWORK=10.42.0.0/16\nFLANNEL_SUBNET=10.42.1.1/24\nFLANNEL_IPV6_NETWORK=2001:cafe:42::/56\nFLANNEL_IPV6_SUBNET=2001:cafe:42:1::1/64\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=true\n')
    expect(renderDelegate(conf(), dual).ipam).toMatchObject({
      ranges: [[{subnet: '10.42.1.0/24'}], [{subnet: '2001:cafe:42:1::/64'}]],
      routes: [{dst: '10.42.0.0/16', gw: '10.42.1.1'}, {dst: '2001:cafe:42::/56', gw: '2001:cafe:42:1::1'}],
    })
  })

  it('gives an IPv6-only network (no FLANNEL_NETWORK) one IPv6 range and route', () => {
    const v6 = env('FLANNEL_IPV6_NETWORK=2001:cafe:42::/56\nFLANNEL_IPV6_SUBNET=2001:cafe:42:1::1/64\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=false\n')
    expect(renderDelegate(conf(), v6)).toMatchObject({
      mtu: 1400,
      ipMasq: true,
      isDefaultGateway: true,
      ipam: {type: 'host-local', ranges: [[{subnet: '2001:cafe:42:1::/64'}]], routes: [{dst: '2001:cafe:42::/56', gw: '2001:cafe:42:1::1'}]},
    })
  })

  it('refuses a subnet.env without a subnet of either family (code 100)', () => {
    expect(codeOf(() => renderDelegate(conf(), {mtu: 1450, ipMasq: false}))).toBe(100)
  })

  it('keeps both families when the user turns the default gateway off (a container with two networks)', () => {
    const dual = env('FLANNEL_NETWORK=10.42.0.0/16\nFLANNEL_SUBNET=10.42.1.1/24\nFLANNEL_IPV6_NETWORK=2001:cafe:42::/56\nFLANNEL_IPV6_SUBNET=2001:cafe:42:1::1/64\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=true\n')
    const rendered = renderDelegate(conf({delegate: {isDefaultGateway: false}}), dual)
    expect(rendered).toMatchObject({isGateway: true, isDefaultGateway: false})
    expect((rendered.ipam as {ranges: unknown[]}).ranges).toHaveLength(2)
  })

  it('lays the user delegate keys over the defaults, but keeps the name and version', () => {
    const rendered = renderDelegate(conf({bridge: 'br-pods', delegate: {hairpinMode: false, mtu: 1400, name: 'other', cniVersion: '0.3.1', ipam: {dataDir: '/var/lib/x'}}}), V4)
    expect(rendered).toMatchObject({bridge: 'br-pods', hairpinMode: false, mtu: 1400, name: 'cnet', cniVersion: '1.0.0'})
    expect(rendered.ipam).toMatchObject({type: 'host-local', dataDir: '/var/lib/x', ranges: [[{subnet: '10.5.52.0/24'}]]})
  })

  it('leaves bridge-only keys out for another delegate type', () => {
    const rendered = renderDelegate(conf({delegate: {type: 'ptp'}}), V4)
    expect(rendered.type).toBe('ptp')
    expect(rendered).not.toHaveProperty('isGateway')
    expect(rendered).not.toHaveProperty('bridge')
  })

  it('replays the saved config in the current version with the prevResult', () => {
    const saved = renderDelegate(conf(), V4)
    const prevResult = {cniVersion: '1.0.0', ips: [{address: '10.5.52.2/24'}]}
    const replayed = replayDelegate({...saved, prevResult: {stale: true}}, conf({cniVersion: '0.4.0', prevResult}))
    expect(replayed).toEqual({...saved, cniVersion: '0.4.0', prevResult})
    expect(replayDelegate(saved, conf())).not.toHaveProperty('prevResult')
  })
})

describe('leftover masquerade rules after DEL', () => {
  const save = [
    '*nat',
    ':POSTROUTING ACCEPT [0:0]',
    ':CNI-b06c18e200e1c1ace5e61202 - [0:0]',
    ':CNI-0000000000000000000000aa - [0:0]',
    '-A POSTROUTING -s 10.63.1.2/32 -m comment --comment "name: \\"cnc-net\\" id: \\"x2\\"" -j CNI-b06c18e200e1c1ace5e61202',
    '-A POSTROUTING -s 10.63.1.3/32 -m comment --comment "name: \\"cnc-net\\" id: \\"x3\\"" -j CNI-0000000000000000000000aa',
    '-A CNI-b06c18e200e1c1ace5e61202 -d 10.63.1.0/24 -m comment --comment "name: \\"cnc-net\\" id: \\"x2\\"" -j ACCEPT',
    '-A CNI-b06c18e200e1c1ace5e61202 ! -d 224.0.0.0/4 -m comment --comment "name: \\"cnc-net\\" id: \\"x2\\"" -j MASQUERADE',
    '-A CNI-0000000000000000000000aa ! -d 224.0.0.0/4 -m comment --comment "name: \\"cnc-net\\" id: \\"x3\\"" -j MASQUERADE',
    'COMMIT',
  ].join('\n')

  it("removes the container's jump and its chain, and nothing of another container's", () => {
    expect(planMasqCleanup(save, 'cnc-net', 'x2')).toBe(
      [
        '*nat',
        '-D POSTROUTING -s 10.63.1.2/32 -m comment --comment "name: \\"cnc-net\\" id: \\"x2\\"" -j CNI-b06c18e200e1c1ace5e61202',
        '-F CNI-b06c18e200e1c1ace5e61202',
        '-X CNI-b06c18e200e1c1ace5e61202',
        'COMMIT',
        '',
      ].join('\n'),
    )
  })

  it('plans nothing when the bridge already cleaned up, or for another network', () => {
    expect(planMasqCleanup(save, 'cnc-net', 'x9')).toBeUndefined()
    expect(planMasqCleanup(save, 'other', 'x2')).toBeUndefined()
  })

  it('keeps a chain that also holds rules it did not tag, deleting only its own', () => {
    const shared = save + '\n-A CNI-b06c18e200e1c1ace5e61202 -j RETURN'
    const plan = planMasqCleanup(shared, 'cnc-net', 'x2')!
    expect(plan).not.toContain('-X ')
    expect(plan.split('\n').filter((l) => l.startsWith('-D '))).toHaveLength(3)
  })
})
