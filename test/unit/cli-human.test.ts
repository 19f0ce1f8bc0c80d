import {describe, expect, it} from '@jest/globals'
import {
  checkSummary,
  deregisteredSentence,
  maintenanceSentence,
  leaseExpiry,
  leaseRecord,
  leasedSentence,
  networkInitSentence,
  networkRecord,
  registeredSentence,
  releasedSentence,
  reservedSentence,
  ttlUpdatedSentence,
  vxlanDownSentence,
} from '../../src/cli/human.js'
import {renderRecord} from '../../src/cli/output.js'
import type {LeaseRow} from '../../src/net/subnet-listing.js'
import type {CheckDefinition, ServiceRegistration} from '../../src/svc/model.js'
import type {MaintenanceResult, RegisterResult} from '../../src/svc/registry.js'

const TIMING = {intervalMs: 10_000, timeoutMs: 5000, successBeforePassing: 0, failuresBeforeCritical: 0}
const WEB: ServiceRegistration = {id: 'web-1', name: 'web', namespace: 'default', address: '10.0.0.5', port: 8080, protocol: 'tcp', tags: [], meta: {}, weight: 1, node: 'h1', registeredAt: '2026-01-01T00:00:00.000Z'}
const RESULT: RegisterResult = {key: '/cnet/services/default/web/web-1', id: 'web-1', name: 'web', namespace: 'default', node: 'h1', action: 'created', healthKept: false, initialStatus: null, leaseTtlSeconds: null}

describe('sentences for actions', () => {
  it.each<[CheckDefinition | undefined, string]>([
    [{type: 'http', url: 'http://10.0.0.5:8080/health', method: 'GET', headers: {}, tlsSkipVerify: false, ...TIMING}, 'check http every 10s'],
    [{type: 'tcp', address: '10.0.0.5:8080', ...TIMING, intervalMs: 90_000}, 'check tcp every 1m30s'],
    [{type: 'ttl', ttlMs: 30_000}, 'TTL check of 30s'],
    [undefined, 'no check'],
  ])('checkSummary %j', (check, text) => {
    expect(checkSummary(check)).toBe(text)
  })

  it('svc register says what was registered, where, and how it is checked', () => {
    const http: CheckDefinition = {type: 'http', url: 'http://10.0.0.5:8080/health', method: 'GET', headers: {}, tlsSkipVerify: false, ...TIMING}
    expect(registeredSentence({...WEB, check: http}, RESULT)).toBe('registered web-1 (web.default) at 10.0.0.5:8080, check http every 10s')
    expect(registeredSentence({...WEB, address: 'fd00::5'}, {...RESULT, action: 'updated', healthKept: true})).toBe('updated web-1 (web.default) at [fd00::5]:8080, no check; its health is kept')
    expect(registeredSentence(WEB, {...RESULT, action: 'unchanged', initialStatus: 'passing', leaseTtlSeconds: 10})).toBe(
      'already registered: web-1 (web.default) at 10.0.0.5:8080, no check, passing until its first result; held under a 10s etcd lease while this runs',
    )
  })

  it('svc deregister, health pass, subnet release and reserve, vxlan down', () => {
    const gone = {id: 'web-1', name: 'web', namespace: 'default', key: 'k', action: 'removed' as const, healthRemoved: true}
    expect(deregisteredSentence(gone)).toBe('deregistered web-1 (web.default) and its health record')
    expect(deregisteredSentence({...gone, healthRemoved: false})).toBe('deregistered web-1 (web.default)')
    expect(deregisteredSentence({...gone, action: 'absent', healthRemoved: false})).toBe('web-1 (web.default) was not registered: nothing to remove')
    expect(ttlUpdatedSentence({id: 'batch-1', key: 'k', ttlSeconds: 30, status: 'warning', output: 'slow', since: '', checkedAt: '', prober: 'ttl'})).toBe(
      'batch-1 is warning: its TTL check turns critical in 30s unless updated again',
    )
    expect(releasedSentence({subnet: '10.5.7.0/24', released: true})).toBe('released 10.5.7.0/24')
    expect(releasedSentence({subnet: '10.5.7.0/24', released: false})).toBe('10.5.7.0/24 was not leased: nothing to release')
    expect(reservedSentence({subnet: '10.5.7.0/24', ipv6Subnet: 'fd00:0:0:7::/64', key: 'k', publicIp: '192.168.1.7', publicIpv6: null})).toBe('reserved 10.5.7.0/24 and fd00:0:0:7::/64 for 192.168.1.7')
    expect(vxlanDownSentence({device: 'cnet.1', deviceRemoved: true, devices: [{name: 'cnet.1', removed: true}], routesRemoved: 0, iptablesRemoved: false})).toBe('cnet.1: removed; 0 direct route(s) removed; iptables chains absent')
    expect(vxlanDownSentence({device: 'cnet.1', deviceRemoved: false, devices: [{name: 'cnet.1', removed: false}, {name: 'cnet-v6.1', removed: true}], routesRemoved: 1, iptablesRemoved: true})).toBe(
      'cnet.1: already absent; cnet-v6.1: removed; 1 direct route(s) removed; iptables chains removed',
    )
  })

  it.each<[MaintenanceResult['action'], boolean, string]>([
    ['enabled', true, 'web-1 (web.default) is in maintenance: kernel upgrade'],
    ['updated', true, 'web-1 (web.default) stays in maintenance: kernel upgrade'],
    ['disabled', false, 'web-1 (web.default) is out of maintenance'],
    ['unchanged', true, 'web-1 (web.default) was already in maintenance: kernel upgrade'],
    ['unchanged', false, 'web-1 (web.default) was not in maintenance'],
  ])('svc maint %s (in maintenance: %s)', (action, inMaintenance, text) => {
    const maintenance = inMaintenance ? {reason: 'kernel upgrade', since: '2026-01-01T00:00:00.000Z'} : null
    expect(maintenanceSentence({id: 'web-1', name: 'web', namespace: 'default', key: 'k', action, maintenance})).toBe(text)
  })

  it('subnet lease: the subnets, the host, the MAC, the expiry, the file', () => {
    const lease = {subnet: '10.5.7.0/24', publicIp: '192.168.1.7', backend: 'vxlan', vtepMac: '0a:00:00:00:00:07', hostName: 'h7', key: 'k', ttlSeconds: 86_400, action: 'created' as const, subnetFile: '/run/cnet/subnet.env'}
    expect(leasedSentence(lease)).toBe('leased 10.5.7.0/24 for 192.168.1.7 (VTEP MAC 0a:00:00:00:00:07, expires in 24h); wrote /run/cnet/subnet.env')
    expect(leasedSentence({...lease, action: 'reused', ttlSeconds: null, ipv6Subnet: 'fd00:0:0:7::/64', publicIpv6: '2001:db8::7', vtepMacV6: '0a:00:00:00:60:07'})).toBe(
      'reused the lease of 10.5.7.0/24 and fd00:0:0:7::/64 for 192.168.1.7 and 2001:db8::7 (VTEP MAC 0a:00:00:00:00:07, IPv6 VTEP MAC 0a:00:00:00:60:07, reserved, no expiry); wrote /run/cnet/subnet.env',
    )
    expect(leasedSentence({...lease, backend: 'host-gw', vtepMac: null})).toBe('leased 10.5.7.0/24 for 192.168.1.7 (host-gw, expires in 24h); wrote /run/cnet/subnet.env')
  })

  it('network init: the networks and the backend', () => {
    const Backend = {Type: 'vxlan' as const, VNI: 1, Port: 8472, MTU: 0, GBP: false, Learning: false, DirectRouting: false}
    expect(networkInitSentence({action: 'created', stored: {}, config: {Network: '10.5.0.0/16', SubnetLen: 24, EnableIPv4: true, EnableIPv6: false, Backend}})).toBe(
      'network config created: 10.5.0.0/16 (subnets /24, VNI 1, port 8472)',
    )
    const dual = {Network: '10.5.0.0/16', SubnetLen: 24, IPv6Network: 'fd00::/48', IPv6SubnetLen: 64, EnableIPv4: true, EnableIPv6: true, Backend}
    expect(networkInitSentence({action: 'unchanged', stored: {}, config: dual})).toBe('network config unchanged: 10.5.0.0/16 and fd00::/48 (subnets /24 and /64, VNI 1, port 8472)')
    expect(renderRecord(networkRecord(dual), {colour: false})).toMatch(/^IPv6Network +fd00::\/48$/m)
    expect(renderRecord(networkRecord(dual), {colour: false})).toMatch(/^Backend\.VNI +1$/m)
    expect(networkInitSentence({action: 'created', stored: {}, config: {...dual, Backend: {Type: 'host-gw'}}})).toBe('network config created: 10.5.0.0/16 and fd00::/48 (subnets /24 and /64, backend host-gw)')
  })
})

describe('records', () => {
  const row: LeaseRow = {subnet: '10.5.7.0/24', publicIp: '192.168.1.7', publicIpv6: null, vtepMac: '0a:00:00:00:00:07', vtepMacV6: null, hostName: null, expiresInSeconds: 86_394, reserved: false, valid: true, key: '/coreos.com/network/subnets/10.5.7.0-24'}

  it.each<[Partial<LeaseRow>, string]>([
    [{}, '23h59m54s'],
    [{reserved: true, expiresInSeconds: null}, 'reserved'],
    [{expiresInSeconds: 0}, 'expired'],
    [{valid: false}, 'invalid'],
    [{expiresInSeconds: undefined}, 'leased'],
  ])('lease expiry of %j: %s', (change, text) => {
    expect(leaseExpiry({...row, ...change})).toBe(text)
  })

  it('subnet show: the expiry as subnet list prints it, absent values blank, never "null"', () => {
    const text = renderRecord(leaseRecord(row), {colour: false})
    expect(text.split('\n')).toEqual([
      'subnet       10.5.7.0/24',
      'public IP    192.168.1.7',
      'public IPv6',
      'VTEP MAC     0a:00:00:00:00:07',
      'host',
      'expires in   23h59m54s',
      'key          /coreos.com/network/subnets/10.5.7.0-24',
    ])
  })
})
