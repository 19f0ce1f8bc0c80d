import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {openStore} from '../../src/store/index.js'
import {CLI, cliEnv, runCli} from '../helpers/cli.js'
import {type EtcdMember, sleep, startEtcd} from '../helpers/etcd.js'
import {uniquePrefixes} from '../helpers/shared-etcd.js'

describe('subnet lease --keep across an etcd outage', () => {
  let etcd: EtcdMember
  beforeAll(async () => {
    etcd = await startEtcd({name: 'outage'})
  })
  afterAll(async () => etcd?.destroy())

  it('keeps the subnet while etcd is down longer than the TTL, and holds the same subnet after', async () => {
    const prefixes = uniquePrefixes('outage')
    const env = cliEnv(etcd.endpoint, prefixes)
    expect((await runCli(['network', 'init', '--network', '10.14.0.0/16'], {env})).exitCode).toBe(0)
    const file = join(mkdtempSync(join(tmpdir(), 'cnet-outage-')), 'subnet.env')
    const args = [CLI, 'subnet', 'lease', '--public-ip', '192.168.14.1', '--subnet-file', file, '--ttl', '2s', '--keep', '--json', '--etcd-timeout', '1s']
    const child = spawn(process.execPath, args, {env: {...process.env, ...env, CNET_UNSAFE_MIN_TTL: '1s'}, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    child.stdout.on('data', (d) => (stdout += d))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    try {
      for (let i = 0; i < 150 && !stdout.includes('}'); i++) await sleep(100)
      const {key, subnet} = JSON.parse(stdout) as {key: string; subnet: string}
      const envBefore = readFileSync(file, 'utf8')

      await etcd.stop()
      await sleep(5000) // more than twice the TTL
      expect(child.exitCode).toBeNull() // still running, still holding the subnet
      expect(readFileSync(file, 'utf8')).toBe(envBefore)
      await etcd.start()
      await etcd.waitReady()

      const store = await openStore({endpoints: [etcd.endpoint]})
      try {
        let held = null
        for (let i = 0; i < 100 && !held; i++) {
          held = await store.get(key)
          if (!held) await sleep(100)
        }
        expect(held?.value).toContain('"PublicIP":"192.168.14.1"')
        await sleep(3000) // past the TTL again: the lease is being kept alive
        expect(await store.get(key)).not.toBeNull()
      } finally {
        await store.close()
      }
      expect(readFileSync(file, 'utf8')).toBe(envBefore)
      expect(subnet).toMatch(/^10\.14\./)
    } finally {
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
    }
  }, 90_000)

  it('writes a dual-stack lease as flannel does', async () => {
    const prefixes = uniquePrefixes('dual')
    const env = cliEnv(etcd.endpoint, prefixes)
    expect((await runCli(['network', 'init', '--network', '10.42.0.0/16', '--ipv6-network', '2001:cafe:42::/56'], {env})).exitCode).toBe(0)
    const file = join(mkdtempSync(join(tmpdir(), 'cnet-dual-')), 'subnet.env')
    const result = await runCli(['subnet', 'lease', '--public-ip', '192.168.42.1', '--subnet-file', file, '--json'], {env})
    expect(result.exitCode).toBe(0)
    const out = JSON.parse(result.stdout) as {key: string; subnet: string; ipv6Subnet: string; vtepMac: string}
    expect(out.ipv6Subnet).toMatch(/^2001:cafe:42:[0-9a-f]+::\/64$/)
    expect(out.key).toBe(`${prefixes.networkPrefix}/subnets/${out.subnet.replace('/', '-')}&${out.ipv6Subnet.replace('/', '-')}`)
    const store = await openStore({endpoints: [etcd.endpoint]})
    try {
      const value = JSON.parse((await store.get(out.key))!.value)
      expect(value.BackendV6Data).toEqual({VNI: 1, VtepMAC: out.vtepMac})
    } finally {
      await store.close()
    }
    const text = readFileSync(file, 'utf8')
    expect(text).toContain('FLANNEL_IPV6_NETWORK=2001:cafe:42::/56\n')
    expect(text).toContain(`FLANNEL_IPV6_SUBNET=${out.ipv6Subnet.replace('::/64', '::1/64')}\n`)
  })
})
