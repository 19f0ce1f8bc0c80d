import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from '@jest/globals'
import {formatLeaseAttrs} from '../../src/net/lease.js'
import {type OverlayContext, loadHost} from '../../src/net/vxlan/host.js'
import {Keys} from '../../src/store/keys.js'
import type {Store} from '../../src/store/store.js'
import {silentLogger} from '../../src/lib/log.js'
import {RecordingKernel} from '../helpers/recording-kernel.js'

const keys = new Keys({networkPrefix: '/coreos.com/network', cnetPrefix: '/cnet'})
const dir = mkdtempSync(join(tmpdir(), 'cnet-vxlan-host-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

/** Only what loadHost reads: the network config and this host's lease. */
function contextWith(values: Record<string, string>): OverlayContext {
  const store = {get: async (key: string) => (key in values ? {key, value: values[key], modRevision: 1} : undefined)} as unknown as Store
  const kernel = new RecordingKernel({name: 'eth0', mtu: 1500, addresses: [{family: 4, address: '192.168.1.7', prefix: 24}]})
  return {store, keys, logger: silentLogger, kernel}
}

describe('vxlan host view', () => {
  it('finds its own dual-stack lease under the one key that names both subnets', async () => {
    const subnetFile = join(dir, 'dual.env')
    writeFileSync(subnetFile, 'FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.7.1/24\nFLANNEL_IPV6_NETWORK=fd00::/56\nFLANNEL_IPV6_SUBNET=fd00:0:0:7::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n')
    const mac = '0a:58:0a:05:07:01'
    const ctx = contextWith({
      [keys.networkConfig()]: JSON.stringify({Network: '10.5.0.0/16', EnableIPv6: true, IPv6Network: 'fd00::/56', Backend: {Type: 'vxlan'}}),
      [keys.subnet('10.5.7.0-24&fd00:0:0:7::-64')]: formatLeaseAttrs({PublicIP: '192.168.1.7', PublicIPv6: null, BackendType: 'vxlan', BackendData: {VNI: 1, VtepMAC: mac}, BackendV6Data: {VNI: 1, VtepMAC: mac}}),
    })
    const host = await loadHost(ctx, {subnetFile, ipMasq: false})
    expect(host.selfName).toBe('10.5.7.0-24&fd00:0:0:7::-64')
    expect(host.families.map((f) => [f.family, f.publicIp, f.vtepMac, f.deviceName])).toEqual([[4, '192.168.1.7', mac, 'cnet.1']])
    expect(host.skipped).toEqual([{family: 6, reason: expect.stringContaining('no PublicIPv6')}])
  })
})
