import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {openStore} from '../../src/store/index.js'
import type {Store} from '../../src/store/store.js'
import {CLI, cliEnv, runCli} from '../helpers/cli.js'
import {sleep} from '../helpers/etcd.js'
import {waitFor} from '../helpers/poll.js'
import {freePort} from '../helpers/ports.js'
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
    // Fifty Node start-ups at once on a small machine: each call gets a deadline that the
    // load cannot pass, as what is proven here is distinct subnets, not latency.
    const patient = {...env, CNET_ETCD_TIMEOUT: '60s'}
    const results = await Promise.all(Array.from({length: 50}, (_, i) => lease(patient, `192.168.50.${i + 1}`, join(dir, `h${i}`, 'subnet.env'))))
    expect(results.filter((r) => r.exitCode !== 0).map((r) => `exit ${r.exitCode}: ${r.stderr}`)).toEqual([])
    const subnets = results.map((r) => JSON.parse(r.stdout).subnet)
    expect(new Set(subnets).size).toBe(50)
    expect((await store.list(`${prefixes.networkPrefix}/subnets/`)).items).toHaveLength(50)
  }, 180_000)

  it('gives 12 dual-stack acquirers racing for 16 IPv6 subnets distinct IPv4 and IPv6 subnets', async () => {
    // One key names both halves, so create-if-absent alone lets two hosts share an IPv6 subnet.
    const {prefixes, env} = await network(['--network', '10.31.0.0/16', '--ipv6-network', 'fd00:31::/60'])
    const dir = tmp()
    const results = await Promise.all(Array.from({length: 12}, (_, i) => lease(env, `192.168.31.${i + 1}`, join(dir, `h${i}`, 'subnet.env'))))
    expect(results.map((r) => r.exitCode)).toEqual(Array(12).fill(0))
    const leased = results.map((r) => JSON.parse(r.stdout) as {subnet: string; ipv6Subnet: string})
    expect(new Set(leased.map((l) => l.subnet)).size).toBe(12)
    expect(new Set(leased.map((l) => l.ipv6Subnet)).size).toBe(12)
    const keys = (await store.list(`${prefixes.networkPrefix}/subnets/`)).items.map((item) => item.key)
    expect(new Set(keys.map((key) => key.split('&')[1])).size).toBe(12)
    expect(keys).toHaveLength(12)
  }, 180_000)

  /** Every key under a root with its revision and lease: equal before and after means nothing changed. */
  const snapshot = async (root: string) => (await store.list(root)).items.map(({key, value, modRevision, lease}) => ({key, value, modRevision, lease}))

  /** A failed command: the exit code, exactly one line on stderr, and what it says. */
  function expectOneLineFailure(result: {exitCode: number; stderr: string}, code: number, message: RegExp) {
    expect({exitCode: result.exitCode, stderr: result.stderr}).toEqual({exitCode: code, stderr: expect.stringMatching(message)})
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
  }

  it('rejects bad input with one line and changes nothing in etcd or on disk', async () => {
    const {prefixes, env} = await network(['--network', '10.11.0.0/16'])
    const dir = tmp()
    const file = join(dir, 'subnet.env')
    const cases: [string[], number, RegExp][] = [
      [['--public-ip', 'banana'], 2, /--public-ip: "banana" is not an IPv4 address/],
      [['--iface', 'cnet-nope0'], 2, /--iface: no interface named "cnet-nope0"/],
      [['--public-ip', '192.168.5.5', '--ttl', '30s'], 2, /--ttl: 30s is too short/],
      [['--public-ip', '192.168.5.5', '--ttl', 'soon'], 2, /--ttl: "soon" is not a duration/],
      [['--public-ip', '192.168.5.5', '--public-ipv6', 'banana'], 2, /--public-ipv6: "banana" is not an IPv6 address/],
      [['--public-ip', '192.168.5.5', '--public-ipv6', '10.0.0.1'], 2, /--public-ipv6: "10\.0\.0\.1" is not an IPv6 address/],
      [['--public-ip', '192.168.5.5', '--public-ipv6', 'fe80::1'], 2, /--public-ipv6: fe80::1 is not a global unicast IPv6 address/],
    ]
    const before = await snapshot(prefixes.networkPrefix)
    for (const [args, code, message] of cases) {
      expectOneLineFailure(await runCli(['subnet', 'lease', '--subnet-file', file, ...args], {env}), code, message)
    }
    expect(await snapshot(prefixes.networkPrefix)).toEqual(before)
    expect(readdirSync(dir)).toEqual([]) // no subnet.env, no vtep-mac
  })

  it('without a network config, every subnet command says where it looked, exits 3 and changes nothing', async () => {
    const none = uniquePrefixes('none')
    const env = cliEnv(etcd().endpoint, none)
    const dir = tmp()
    const file = join(dir, 'subnet.env')
    const commands = [
      ['subnet', 'lease', '--public-ip', '192.168.5.5', '--subnet-file', file],
      ['subnet', 'lease', '--public-ip', '192.168.5.5', '--subnet-file', file, '--keep', '--ttl', '2s'],
      ['subnet', 'reserve', '10.11.3.0/24', '--public-ip', '192.168.5.5'],
      ['subnet', 'release', '10.11.3.0/24', '--force'],
      ['subnet', 'show', '10.11.3.0/24'],
    ]
    for (const args of commands) {
      const message = new RegExp(`^cnet: network: no config at ${none.networkPrefix}/config \\(`)
      expectOneLineFailure(await runCli(args, {env: {...env, CNET_UNSAFE_MIN_TTL: '1s'}}), 3, message)
    }
    // Nothing under the prefix these commands ran against, and nothing on disk.
    expect(await snapshot(none.networkPrefix)).toEqual([])
    expect(readdirSync(dir)).toEqual([])
  })

  it('rejects a SUBNET outside the network or off its boundary for release, reserve and show, changing nothing', async () => {
    const {prefixes, env} = await network(['--network', '10.22.0.0/16', '--ipv6-network', 'fd00:22::/56'])
    await lease(env, '192.168.22.1', join(tmp(), 'subnet.env'), ['--public-ipv6', '2001:db8:22::1'])
    const before = await snapshot(prefixes.networkPrefix)
    const bad: [string, RegExp][] = [
      ['10.99.0.0/24', /SUBNET: 10\.99\.0\.0\/24 is not in the network 10\.22\.0\.0\/16/],
      ['10.22.1.128/24', /SUBNET: 10\.22\.1\.128\/24 is not a \/24 subnet on its boundary/],
      ['10.22.1.0/25', /SUBNET: 10\.22\.1\.0\/25 is not a \/24 subnet on its boundary/],
      ['fd00:99::/64', /SUBNET: fd00:99::\/64 is not in the network fd00:22::\/56/],
      ['banana', /SUBNET: "banana" is not a subnet such as/],
    ]
    for (const [subnet, message] of bad) {
      expectOneLineFailure(await runCli(['subnet', 'release', subnet, '--public-ip', '192.168.22.1'], {env}), 2, message)
      expectOneLineFailure(await runCli(['subnet', 'release', subnet, '--force'], {env}), 2, message)
      expectOneLineFailure(await runCli(['subnet', 'reserve', subnet, '--public-ip', '192.168.22.1'], {env}), 2, subnet.includes(':') ? /SUBNET: / : message)
      expectOneLineFailure(await runCli(['subnet', 'show', subnet], {env}), 2, message)
    }
    const badV6: [string, RegExp][] = [
      ['fd00:99::/64', /--ipv6-subnet: fd00:99::\/64 is not in the network fd00:22::\/56/],
      ['fd00:22:0:1::/60', /--ipv6-subnet: fd00:22:0:1::\/60 is not a \/64 subnet on its boundary/],
      ['fd00:22:0:1::1/64', /--ipv6-subnet: fd00:22:0:1::1\/64 is not a \/64 subnet on its boundary/],
      ['10.22.9.0/24', /--ipv6-subnet: "10\.22\.9\.0\/24" is not an IPv6 subnet/],
    ]
    for (const [subnet, message] of badV6) {
      expectOneLineFailure(await runCli(['subnet', 'reserve', '10.22.9.0/24', '--public-ip', '192.168.22.9', '--ipv6-subnet', subnet], {env}), 2, message)
    }
    expectOneLineFailure(await runCli(['subnet', 'reserve', '10.22.9.0/24', '--public-ip', '192.168.22.9', '--public-ipv6', 'fe80::9'], {env}), 2, /--public-ipv6: fe80::9 is not a global unicast/)
    expect(await snapshot(prefixes.networkPrefix)).toEqual(before)
  })

  it('dual stack: the lease carries PublicIPv6; show, release and reserve find and write dual-stack keys', async () => {
    const {prefixes, env} = await network(['--network', '10.21.0.0/16', '--ipv6-network', 'fd00:21::/56'])
    const key = (name: string) => `${prefixes.networkPrefix}/subnets/${name}`
    const nameOf = (subnet: string, ipv6Subnet: string) => `${subnet.replace('/', '-')}&${ipv6Subnet.replace('/', '-')}`

    const a = JSON.parse((await lease(env, '192.168.21.1', join(tmp(), 'subnet.env'), ['--public-ipv6', '2001:DB8:21:0::1'])).stdout)
    expect(a).toMatchObject({publicIp: '192.168.21.1', publicIpv6: '2001:db8:21::1', action: 'created'})
    expect(a.key).toBe(key(nameOf(a.subnet, a.ipv6Subnet)))
    expect((await store.get(a.key))!.value).toBe(
      `{"PublicIP":"192.168.21.1","PublicIPv6":"2001:db8:21::1","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${a.vtepMac}"},"BackendV6Data":{"VNI":1,"VtepMAC":"${a.vtepMacV6}"},"HostName":"${a.hostName}"}`,
    )
    // The IPv6 device has a MAC of its own, as flannel's flannel-v6 device does.
    expect(a.vtepMacV6).not.toBe(a.vtepMac)

    // show by either subnet of the lease.
    for (const subnet of [a.subnet, a.ipv6Subnet]) {
      const shown = await runCli(['subnet', 'show', subnet, '--json'], {env})
      expect(shown.exitCode).toBe(0)
      expect(JSON.parse(shown.stdout)).toMatchObject({key: a.key, subnet: `${a.subnet} ${a.ipv6Subnet}`, publicIp: '192.168.21.1', publicIpv6: '2001:db8:21::1', reserved: false})
    }

    // Spare IPv4 subnets for the reservations below: never the one the lease above took at random.
    const [s5, s6, s7] = ['10.21.5.0/24', '10.21.6.0/24', '10.21.7.0/24', '10.21.8.0/24'].filter((s) => s !== a.subnet)
    // reserve picks the first free IPv6 subnet when none is given ...
    const firstFree = a.ipv6Subnet === 'fd00:21:0:1::/64' ? 'fd00:21:0:2::/64' : 'fd00:21:0:1::/64'
    const r5 = await runCli(['subnet', 'reserve', s5!, '--public-ip', '192.168.21.5', '--json'], {env})
    expect(r5.exitCode).toBe(0)
    expect(JSON.parse(r5.stdout)).toEqual({subnet: s5!, ipv6Subnet: firstFree, key: key(nameOf(s5!, firstFree)), publicIp: '192.168.21.5', publicIpv6: null})
    const reserved5 = (await store.get(key(nameOf(s5!, firstFree))))!
    expect(reserved5.lease).toBeNull()
    expect(JSON.parse(reserved5.value)).toMatchObject({PublicIP: '192.168.21.5', PublicIPv6: null, BackendV6Data: {VNI: 1}})
    // ... or takes the one given, and the host with that public IP reuses the reservation.
    const r6 = await runCli(['subnet', 'reserve', s6!, '--public-ip', '192.168.21.6', '--ipv6-subnet', 'fd00:21:0:ff::/64', '--public-ipv6', '2001:db8:21::6'], {env})
    expect(r6).toMatchObject({exitCode: 0, stdout: `reserved ${s6} and fd00:21:0:ff::/64 for 192.168.21.6 and 2001:db8:21::6\n`})
    const k6 = key(`${s6!.replace('/', '-')}&fd00:21:0:ff::-64`)
    expect(JSON.parse((await store.get(k6))!.value)).toMatchObject({PublicIP: '192.168.21.6', PublicIPv6: '2001:db8:21::6'})
    const file6 = join(tmp(), 'subnet.env')
    const h6 = JSON.parse((await lease(env, '192.168.21.6', file6, ['--public-ipv6', '2001:db8:21::6'])).stdout)
    expect(h6).toMatchObject({subnet: s6!, ipv6Subnet: 'fd00:21:0:ff::/64', key: k6, ttlSeconds: null, action: 'reused'})
    expect((await store.get(k6))!.lease).toBeNull()
    expect(readFileSync(file6, 'utf8')).toContain('FLANNEL_IPV6_SUBNET=fd00:21:0:ff::1/64\n')

    // An IPv6 subnet another lease holds is refused; so is a subnet another host holds.
    const before = await snapshot(prefixes.networkPrefix)
    expectOneLineFailure(await runCli(['subnet', 'reserve', s7!, '--public-ip', '192.168.21.7', '--ipv6-subnet', a.ipv6Subnet], {env}), 5, /the IPv6 subnet .* is already held by another lease.*check --ipv6-subnet/)
    expectOneLineFailure(await runCli(['subnet', 'reserve', a.subnet, '--public-ip', '192.168.21.7'], {env}), 5, /already held by 192\.168\.21\.1/)
    expectOneLineFailure(await runCli(['subnet', 'release', s5!, '--public-ip', '192.168.21.1'], {env}), 5, /held by 192\.168\.21\.5.*--force/)
    expect(await snapshot(prefixes.networkPrefix)).toEqual(before)

    // Reserving a host's own lease keeps its subnets and VTEP MAC, and makes it permanent.
    const ra = await runCli(['subnet', 'reserve', a.subnet, '--public-ip', '192.168.21.1', '--json'], {env})
    expect(JSON.parse(ra.stdout)).toMatchObject({subnet: a.subnet, ipv6Subnet: a.ipv6Subnet, key: a.key, publicIpv6: '2001:db8:21::1'})
    const reservedA = (await store.get(a.key))!
    expect(reservedA.lease).toBeNull()
    expect(JSON.parse(reservedA.value)).toMatchObject({BackendData: {VtepMAC: a.vtepMac}, BackendV6Data: {VtepMAC: a.vtepMacV6}, HostName: a.hostName})

    // release by the IPv4 subnet, by the IPv6 one, and from the subnet file.
    const released = await runCli(['subnet', 'release', a.subnet, '--public-ip', '192.168.21.1', '--json'], {env})
    expect(JSON.parse(released.stdout)).toEqual({subnet: a.subnet, key: a.key, released: true})
    expect(await store.get(a.key)).toBeNull()
    const again = await runCli(['subnet', 'release', a.subnet, '--public-ip', '192.168.21.1', '--json'], {env})
    expect(JSON.parse(again.stdout)).toEqual({subnet: a.subnet, key: null, released: false})
    expect((await runCli(['subnet', 'release', firstFree, '--force'], {env})).exitCode).toBe(0)
    expect(await store.get(key(nameOf(s5!, firstFree)))).toBeNull()
    // From the subnet file alone: no address here is 192.168.21.6, but the VTEP MAC kept
    // for the file is the lease's, so it is this host's.
    const fromFile = await runCli(['subnet', 'release', '--subnet-file', file6, '--json'], {env})
    expect(JSON.parse(fromFile.stdout)).toEqual({subnet: s6!, key: k6, released: true})
    expect(await snapshot(`${prefixes.networkPrefix}/subnets/`)).toEqual([])
  })

  it('takes PublicIPv6 from --public-ipv6 only when the config enables IPv6, as flannel does', async () => {
    const {env} = await network(['--network', '10.23.0.0/16'])
    const out = JSON.parse((await lease(env, '192.168.23.1', join(tmp(), 'subnet.env'), ['--public-ipv6', '2001:db8:23::1'])).stdout)
    expect(out.publicIpv6).toBeUndefined()
    expect(JSON.parse((await store.get(out.key))!.value).PublicIPv6).toBeNull()
  })

  it('--keep renews a short lease (counted by --metrics) and keeps it on SIGTERM; --release-on-exit frees it', async () => {
    const {env} = await network(['--network', '10.12.0.0/16'])
    for (const release of [false, true]) {
      const file = join(tmp(), 'subnet.env')
      const metricsPort = await freePort()
      const args = [CLI, 'subnet', 'lease', '--public-ip', '192.168.7.1', '--subnet-file', file, '--ttl', '2s', '--keep', '--json', ...(release ? ['--release-on-exit'] : ['--metrics', `127.0.0.1:${metricsPort}`])]
      const child = spawn(process.execPath, args, {env: {...process.env, ...env, CNET_UNSAFE_MIN_TTL: '1s'}, stdio: ['ignore', 'pipe', 'pipe']})
      let stdout = ''
      child.stdout.on('data', (d) => (stdout += d))
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
      await waitFor('the keeper to print its lease', () => stdout.includes('}'), {timeoutMs: 15_000, intervalMs: 100})
      await sleep(5000) // proves a negative: more than twice the TTL, and the key is still there
      const key = JSON.parse(stdout).key as string
      expect(await store.get(key)).not.toBeNull()
      if (!release) {
        // The keep-alives of the real lease keeper, counted; the families docs/overlay.md lists.
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
        const docs = readFileSync(new URL('../../docs/overlay.md', import.meta.url), 'utf8')
        const documented = [...docs.matchAll(/^\| `(cnet_subnet_lease_[a-z_]+)` \|/gm)].map((m) => m[1])
        const served = [...text.matchAll(/^# TYPE (cnet_subnet_lease_\S+)/gm)].map((m) => m[1])
        expect(served.sort()).toEqual(documented.sort())
        expect(Number(/^cnet_subnet_lease_renewals_total (\d+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(3)
        const expiry = Number(/^cnet_subnet_lease_expiry_seconds (\S+)$/m.exec(text)?.[1])
        expect(expiry).toBeGreaterThan(0)
        expect(expiry).toBeLessThanOrEqual(2)
        expect(text).toContain('cnet_build_info{')
      }
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
