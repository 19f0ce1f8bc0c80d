import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {openStore} from '../../src/store/index.js'
import type {Store} from '../../src/store/store.js'
import {CLI, cliEnv, runCli} from '../helpers/cli.js'
import {sleep} from '../helpers/etcd.js'
import {uniquePrefixes, useEtcd} from '../helpers/shared-etcd.js'

const FLANNEL_LEASE = (ip: string) => `{"PublicIP":"${ip}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}`

describe('cnet subnet lease / list against a real etcd', () => {
  const etcd = useEtcd()
  let store: Store
  beforeAll(async () => {
    store = await openStore({endpoints: [etcd().endpoint]})
  })
  afterAll(async () => store?.close())

  const tmp = () => mkdtempSync(join(tmpdir(), 'cnet-subnet-'))
  async function network(args: string[]) {
    const prefixes = uniquePrefixes('subnet')
    const env = cliEnv(etcd().endpoint, prefixes)
    expect((await runCli(['network', 'init', ...args], {env})).exitCode).toBe(0)
    return {prefixes, env}
  }
  const lease = (env: Record<string, string>, ip: string, file: string, extra: string[] = []) =>
    runCli(['subnet', 'lease', '--public-ip', ip, '--subnet-file', file, '--json', ...extra], {env, timeoutMs: 150_000})

  it("writes flannel's key, value and subnet.env, under an etcd lease", async () => {
    const {prefixes, env} = await network(['--network', '10.5.0.0/16'])
    const file = join(tmp(), 'subnet.env')
    const result = await lease(env, '192.168.64.3', file, ['--ip-masq'])
    expect(result.exitCode).toBe(0)
    const out = JSON.parse(result.stdout)
    expect(out.subnet).toMatch(/^10\.5\.\d+\.0\/24$/)
    expect(out.key).toBe(`${prefixes.networkPrefix}/subnets/${out.subnet.replace('/', '-')}`)
    const stored = (await store.get(out.key))!
    expect(stored.value).toBe(`{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${out.vtepMac}"},"HostName":"${out.hostName}"}`)
    expect(out.vtepMac).toMatch(/^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/)
    expect((await store.leaseTimeToLive(stored.lease!))!.grantedTtlSeconds).toBe(86400)
    const base = out.subnet.replace('.0/24', '')
    expect(readFileSync(file, 'utf8')).toBe(`FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=${base}.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n`)

    const again = JSON.parse((await lease(env, '192.168.64.3', file)).stdout)
    expect(again).toMatchObject({subnet: out.subnet, vtepMac: out.vtepMac, action: 'reused'})
  })

  it('respects leases flannel wrote, reuses the subnet file only when free, and says when it is out of subnets', async () => {
    // 10.7.0.0/28 in /30s: leasable 10.7.0.4, .8 and .12.
    const {prefixes, env} = await network(['--network', '10.7.0.0/28'])
    const key = (s: string) => `${prefixes.networkPrefix}/subnets/${s}`
    await store.put(key('10.7.0.4-30'), FLANNEL_LEASE('192.168.1.1'))
    await store.put(key('garbage'), 'not json')
    await store.put(key('10.7.0.99-30'), 'not json either')
    // A returning host whose old subnet.env names a subnet another host now holds must not take it.
    const file = join(tmp(), 'subnet.env')
    writeFileSync(file, 'FLANNEL_NETWORK=10.7.0.0/28\nFLANNEL_SUBNET=10.7.0.5/30\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n')
    const returning = JSON.parse((await lease(env, '192.168.1.2', file)).stdout)
    expect(['10.7.0.8/30', '10.7.0.12/30']).toContain(returning.subnet)
    expect((await store.get(key('10.7.0.4-30')))!.value).toBe(FLANNEL_LEASE('192.168.1.1'))

    // A free subnet in the file is taken back.
    const other = returning.subnet === '10.7.0.8/30' ? '10.7.0.12' : '10.7.0.8'
    const file2 = join(tmp(), 'subnet.env')
    const firstAddress = other === '10.7.0.8' ? '10.7.0.9' : '10.7.0.13'
    writeFileSync(file2, `FLANNEL_NETWORK=10.7.0.0/28\nFLANNEL_SUBNET=${firstAddress}/30\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`)
    expect(JSON.parse((await lease(env, '192.168.1.3', file2)).stdout).subnet).toBe(`${other}/30`)

    const before = (await store.list(prefixes.networkPrefix)).items.length
    const exhausted = await lease(env, '192.168.1.4', join(tmp(), 'subnet.env'))
    expect(exhausted.exitCode).toBe(5)
    expect(exhausted.stderr).toMatch(/out of subnets: all 3 subnets from 10\.7\.0\.4\/30 to 10\.7\.0\.12\/30/)
    expect((await store.list(prefixes.networkPrefix)).items.length).toBe(before)

    const list = await runCli(['subnet', 'list', '--json'], {env})
    expect(list.exitCode).toBe(0)
    const rows = JSON.parse(list.stdout) as {subnet: string; valid: boolean; publicIp: string | null}[]
    expect(rows.filter((r) => r.valid).map((r) => r.publicIp).sort()).toEqual(['192.168.1.1', '192.168.1.2', '192.168.1.3'])
    expect(rows.filter((r) => !r.valid).map((r) => r.subnet).sort()).toEqual(['10.7.0.99-30', 'garbage'])
  })

  it('gives 50 acquirers started at once in separate processes 50 distinct subnets', async () => {
    const {prefixes, env} = await network(['--network', '10.9.0.0/16'])
    const dir = tmp()
    const results = await Promise.all(Array.from({length: 50}, (_, i) => lease(env, `192.168.50.${i + 1}`, join(dir, `h${i}`, 'subnet.env'))))
    expect(results.map((r) => r.exitCode)).toEqual(Array(50).fill(0))
    const subnets = results.map((r) => JSON.parse(r.stdout).subnet)
    expect(new Set(subnets).size).toBe(50)
    expect((await store.list(`${prefixes.networkPrefix}/subnets/`)).items).toHaveLength(50)
  }, 180_000)

  it('rejects bad input with one line and changes nothing', async () => {
    const {prefixes, env} = await network(['--network', '10.11.0.0/16'])
    const file = join(tmp(), 'subnet.env')
    const cases: [string[], number, RegExp][] = [
      [['--public-ip', 'banana'], 2, /--public-ip: "banana" is not an IPv4 address/],
      [['--iface', 'cnet-nope0'], 2, /--iface: no interface named "cnet-nope0"/],
      [['--public-ip', '192.168.5.5', '--ttl', '30s'], 2, /--ttl: 30s is too short/],
      [['--public-ip', '192.168.5.5', '--ttl', 'soon'], 2, /--ttl: "soon" is not a duration/],
    ]
    for (const [args, code, message] of cases) {
      const result = await runCli(['subnet', 'lease', '--subnet-file', file, ...args], {env})
      expect(result.exitCode).toBe(code)
      expect(result.stderr).toMatch(message)
      expect(result.stderr.trim().split('\n')).toHaveLength(1)
    }
    const noConfig = await runCli(['subnet', 'lease', '--public-ip', '192.168.5.5', '--subnet-file', file], {env: cliEnv(etcd().endpoint, uniquePrefixes('none'))})
    expect(noConfig.exitCode).toBe(3)
    expect((await store.list(`${prefixes.networkPrefix}/subnets/`)).items).toHaveLength(0)
    expect(existsSync(file)).toBe(false)
  })

  it('--keep renews a short lease and keeps it on SIGTERM; --release-on-exit frees it', async () => {
    const {env} = await network(['--network', '10.12.0.0/16'])
    for (const release of [false, true]) {
      const file = join(tmp(), 'subnet.env')
      const args = [CLI, 'subnet', 'lease', '--public-ip', '192.168.7.1', '--subnet-file', file, '--ttl', '2s', '--keep', '--json', ...(release ? ['--release-on-exit'] : [])]
      const child = spawn(process.execPath, args, {env: {...process.env, ...env, CNET_UNSAFE_MIN_TTL: '1s'}, stdio: ['ignore', 'pipe', 'pipe']})
      let stdout = ''
      child.stdout.on('data', (d) => (stdout += d))
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
      for (let i = 0; i < 100 && !stdout.includes('}'); i++) await sleep(100)
      await sleep(5000) // more than twice the TTL
      const key = JSON.parse(stdout).key as string
      expect(await store.get(key)).not.toBeNull()
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
      expect((await store.get(key)) === null).toBe(release)
    }
  }, 60_000)

  it('shows, releases (someone else\'s only with --force) and reserves subnets; reservations are respected and reused', async () => {
    // 10.13.0.0/28 in /30s: leasable 10.13.0.4, .8 and .12.
    const {prefixes, env} = await network(['--network', '10.13.0.0/28'])
    const key = (s: string) => `${prefixes.networkPrefix}/subnets/${s}`
    const reserve = await runCli(['subnet', 'reserve', '10.13.0.8/30', '--public-ip', '192.168.9.9', '--json'], {env})
    expect(reserve.exitCode).toBe(0)
    expect((await store.get(key('10.13.0.8-30')))!.lease).toBeNull()
    await store.put(key('10.13.0.4-30'), FLANNEL_LEASE('192.168.9.1'))

    // Another host gets the one free subnet, never the reserved one.
    const other = JSON.parse((await lease(env, '192.168.9.2', join(tmp(), 'subnet.env'))).stdout)
    expect(other.subnet).toBe('10.13.0.12/30')
    // The host the reservation is for takes it, and it stays permanent.
    const mine = JSON.parse((await lease(env, '192.168.9.9', join(tmp(), 'subnet.env'))).stdout)
    expect(mine).toMatchObject({subnet: '10.13.0.8/30', ttlSeconds: null, action: 'reused'})
    expect((await store.get(key('10.13.0.8-30')))!.lease).toBeNull()

    const show = await runCli(['subnet', 'show', '10.13.0.8/30', '--json'], {env})
    expect(JSON.parse(show.stdout)).toMatchObject({subnet: '10.13.0.8/30', publicIp: '192.168.9.9', reserved: true, valid: true})
    expect((await runCli(['subnet', 'show', '10.13.0.9/30'], {env})).exitCode).toBe(2)
    expect((await runCli(['subnet', 'show', '10.99.0.0/30'], {env})).exitCode).toBe(2)

    const before = await store.get(key('10.13.0.4-30'))
    const refused = await runCli(['subnet', 'release', '10.13.0.4/30', '--public-ip', '192.168.9.2'], {env})
    expect(refused.exitCode).toBe(5)
    expect(refused.stderr).toMatch(/held by 192\.168\.9\.1.*--force/)
    expect((await store.get(key('10.13.0.4-30')))!.modRevision).toBe(before!.modRevision)
    expect((await runCli(['subnet', 'release', '10.13.0.4/30', '--force'], {env})).exitCode).toBe(0)
    expect(await store.get(key('10.13.0.4-30'))).toBeNull()

    // Without an argument: the subnet of --subnet-file, ours by public IP.
    const file = join(tmp(), 'subnet.env')
    const held = JSON.parse((await lease(env, '192.168.9.3', file)).stdout)
    const released = await runCli(['subnet', 'release', '--subnet-file', file, '--public-ip', '192.168.9.3', '--json'], {env})
    expect(JSON.parse(released.stdout)).toMatchObject({subnet: held.subnet, released: true})
  })
})
