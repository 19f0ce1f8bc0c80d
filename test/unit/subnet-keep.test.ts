import {existsSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from '@jest/globals'
import {ConflictError} from '../../src/lib/errors.js'
import {silentLogger} from '../../src/lib/log.js'
import type {Acquired} from '../../src/net/subnet-acquire.js'
import {keepSubnet} from '../../src/net/subnet-keep.js'
import {MemoryStore} from '../helpers/memory-store.js'

/** `subnet lease --keep` after the lease is held: until stopped, or until another host takes the subnet. */
async function held(store: MemoryStore, subnetFile: string, subnet = '10.5.7.0/24'): Promise<Acquired> {
  const lease = await store.keepLease(60)
  await lease.create('/k', '{}')
  writeFileSync(subnetFile, `FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=${subnet.replace('.0/', '.1/')}\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`)
  return {result: {subnet, publicIp: '192.168.1.7', backend: 'vxlan', vtepMac: null, hostName: 'h', key: '/k', ttlSeconds: 60, action: 'created', subnetFile}, lease}
}

describe('keeping a subnet', () => {
  it.each([
    [false, 'stays until its TTL'],
    [true, 'is revoked'],
  ])('on stop (release on exit: %s) the lease %s', async (releaseOnExit) => {
    const store = new MemoryStore()
    const file = join(mkdtempSync(join(tmpdir(), 'cnet-keep-')), 'subnet.env')
    const acquired = await held(store, file)
    const stop = new AbortController()
    const kept = keepSubnet(acquired, silentLogger, stop.signal, new Promise(() => {}), releaseOnExit)
    stop.abort()
    await kept
    expect((await store.get('/k')) === null).toBe(releaseOnExit)
    expect(existsSync(file)).toBe(true)
  })

  it('another host took the subnet: exit 5, and the subnet file naming it is removed', async () => {
    const store = new MemoryStore()
    const file = join(mkdtempSync(join(tmpdir(), 'cnet-keep-')), 'subnet.env')
    const acquired = await held(store, file)
    const error = await keepSubnet(acquired, silentLogger, new AbortController().signal, Promise.resolve('{"PublicIP":"192.168.1.9"}'), false).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConflictError)
    expect((error as Error).message).toMatch(/10\.5\.7\.0\/24 was taken by another host .*\{"PublicIP":"192\.168\.1\.9"\}.*; removed /)
    expect(existsSync(file)).toBe(false)
  })

  it('a subnet file rewritten meanwhile for another subnet is left alone', async () => {
    const store = new MemoryStore()
    const file = join(mkdtempSync(join(tmpdir(), 'cnet-keep-')), 'subnet.env')
    const acquired = await held(store, file)
    writeFileSync(file, 'FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.8.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n')
    await expect(keepSubnet(acquired, silentLogger, new AbortController().signal, Promise.resolve('theirs'), false)).rejects.toThrow(ConflictError)
    expect(existsSync(file)).toBe(true)
  })
})
