import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {openStore} from '../../src/store/index.js'
import type {Store} from '../../src/store/store.js'
import {cliEnv, runCli} from '../helpers/cli.js'
import {uniquePrefixes, useEtcd} from '../helpers/shared-etcd.js'

describe('cnet network init / show against a real etcd', () => {
  const etcd = useEtcd()
  let store: Store
  beforeAll(async () => {
    store = await openStore({endpoints: [etcd().endpoint]})
  })
  afterAll(async () => store?.close())

  /** Everything under the test's roots, to prove a refused command wrote nothing. */
  const snapshot = async (prefixes: {networkPrefix: string}) =>
    (await store.list(prefixes.networkPrefix)).items.map((i) => [i.key, i.value, i.modRevision])

  it('writes flannel JSON and shows it with defaults, as a table and as JSON', async () => {
    const prefixes = uniquePrefixes('net')
    const env = cliEnv(etcd().endpoint, prefixes)
    const init = await runCli(['network', 'init', '--network', '10.5.0.0/16', '--vni', '42', '--port', '4789'], {env})
    expect(init.exitCode).toBe(0)
    expect(init.stdout).toMatch(/created/)
    const stored = await store.get(`${prefixes.networkPrefix}/config`)
    expect(JSON.parse(stored!.value)).toEqual({Network: '10.5.0.0/16', Backend: {Type: 'vxlan', VNI: 42, Port: 4789}})

    const show = await runCli(['network', 'show', '--json'], {env})
    expect(show.exitCode).toBe(0)
    expect(show.stderr).toBe('')
    expect(JSON.parse(show.stdout)).toEqual({
      Network: '10.5.0.0/16',
      SubnetLen: 24,
      SubnetMin: '10.5.1.0',
      SubnetMax: '10.5.255.0',
      EnableIPv4: true,
      EnableIPv6: false,
      Backend: {Type: 'vxlan', VNI: 42, Port: 4789, MTU: 0, GBP: false, Learning: false, DirectRouting: false},
    })
    const table = await runCli(['network', 'show'], {env})
    expect(table.stdout).toMatch(/Network\s+10\.5\.0\.0\/16/)
    expect(table.stdout).not.toMatch(/\x1b\[/)
  })

  it('with --json, prints exactly one JSON document on stdout for read commands and for errors, nothing else there', async () => {
    const prefixes = uniquePrefixes('json')
    const env = cliEnv(etcd().endpoint, prefixes)
    expect((await runCli(['network', 'init', '--network', '10.7.0.0/16'], {env})).exitCode).toBe(0)
    expect((await runCli(['svc', 'register', 'web', '--id', 'web-1', '--address', '10.7.1.5', '--port', '80'], {env})).exitCode).toBe(0)
    expect((await runCli(['subnet', 'reserve', '10.7.9.0/24', '--public-ip', '192.168.70.9'], {env})).exitCode).toBe(0)
    // JSON.parse takes exactly one document: a second one, or any other text, fails it.
    const reads: [string[], (doc: unknown) => void][] = [
      [['network', 'show'], (doc) => expect(doc).toMatchObject({Network: '10.7.0.0/16'})],
      [['subnet', 'list'], (doc) => expect(doc).toEqual([expect.objectContaining({subnet: '10.7.9.0/24'})])],
      [['subnet', 'show', '10.7.9.0/24'], (doc) => expect(doc).toMatchObject({subnet: '10.7.9.0/24'})],
      [['svc', 'list'], (doc) => expect(doc).toEqual([expect.objectContaining({id: 'web-1', status: 'passing'})])],
      [['svc', 'resolve', 'web'], (doc) => expect(JSON.stringify(doc)).toContain('10.7.1.5')],
    ]
    for (const [args, check] of reads) {
      const result = await runCli([...args, '--json'], {env})
      expect({args, exitCode: result.exitCode, stderr: result.stderr}).toEqual({args, exitCode: 0, stderr: ''})
      check(JSON.parse(result.stdout))
    }
    const errors: [string[], Record<string, string>, number, string][] = [
      [['network', 'show', '--etcd-timeout', 'never'], env, 2, 'UsageError'],
      [['subnet', 'show', '10.7.9.1/24'], env, 2, 'UsageError'],
      [['network', 'show', '--etcd-timeout', '500ms'], {...env, CNET_ETCD_ENDPOINTS: 'http://127.0.0.1:1'}, 4, 'StoreUnavailableError'],
    ]
    for (const [args, runEnv, exitCode, code] of errors) {
      const result = await runCli([...args, '--json'], {env: runEnv})
      expect(result.exitCode).toBe(exitCode)
      expect(JSON.parse(result.stdout)).toEqual({error: {code, message: expect.any(String), exitCode}})
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1)
    }
  })

  it('reads a config flannel wrote, field names in any case', async () => {
    const prefixes = uniquePrefixes('flannel')
    await store.put(`${prefixes.networkPrefix}/config`, '{"network":"10.244.0.0/16","backend":{"type":"vxlan","directrouting":true}}')
    const show = await runCli(['network', 'show', '--json'], {env: cliEnv(etcd().endpoint, prefixes)})
    expect(show.exitCode).toBe(0)
    expect(JSON.parse(show.stdout)).toMatchObject({Network: '10.244.0.0/16', SubnetLen: 24, Backend: {DirectRouting: true, VNI: 1, Port: 8472}})
  })

  it('is idempotent, and refuses a different config without --force', async () => {
    const prefixes = uniquePrefixes('force')
    const env = cliEnv(etcd().endpoint, prefixes)
    expect((await runCli(['network', 'init', '--network', '10.5.0.0/16'], {env})).exitCode).toBe(0)
    const before = await snapshot(prefixes)
    const again = await runCli(['network', 'init', '--network', '10.5.0.0/16'], {env})
    expect(again.exitCode).toBe(0)
    expect(again.stdout).toMatch(/unchanged/)
    expect(await snapshot(prefixes)).toEqual(before)

    const refused = await runCli(['network', 'init', '--network', '10.6.0.0/16'], {env})
    expect(refused.exitCode).toBe(5)
    expect(refused.stderr).toMatch(/--force/)
    expect(await snapshot(prefixes)).toEqual(before)

    const forced = await runCli(['network', 'init', '--network', '10.6.0.0/16', '--force'], {env})
    expect(forced.exitCode).toBe(0)
    expect(JSON.parse((await store.get(`${prefixes.networkPrefix}/config`))!.value).Network).toBe('10.6.0.0/16')
  })

  it('refuses, even with --force, a config that existing leases would fall outside of', async () => {
    const prefixes = uniquePrefixes('leases')
    const env = cliEnv(etcd().endpoint, prefixes)
    expect((await runCli(['network', 'init', '--network', '10.5.0.0/16'], {env})).exitCode).toBe(0)
    await store.put(`${prefixes.networkPrefix}/subnets/10.5.52.0-24`, '{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}')
    await store.put(`${prefixes.networkPrefix}/subnets/not-a-lease`, 'garbage')
    const before = await snapshot(prefixes)
    for (const args of [['--network', '10.6.0.0/16'], ['--network', '10.5.0.0/16', '--subnet-len', '26']]) {
      const result = await runCli(['network', 'init', ...args, '--force'], {env})
      expect(result.exitCode).toBe(5)
      expect(result.stderr).toMatch(/10\.5\.52\.0\/24/)
      expect(await snapshot(prefixes)).toEqual(before)
    }
    // A wider network that still holds the lease is fine.
    expect((await runCli(['network', 'init', '--network', '10.0.0.0/8', '--force'], {env})).exitCode).toBe(0)
  })

  const bad: [string, string[], number, RegExp][] = [
    ['a bad CIDR', ['--network', '10.5.0.0/33'], 2, /--network: "10\.5\.0\.0\/33" is not an IPv4 CIDR/],
    ['not a CIDR at all', ['--network', 'banana'], 2, /--network/],
    ['a network longer than /28', ['--network', '10.5.0.0/29'], 2, /--network: \/29 is too small/],
    ['a subnet length over 30', ['--network', '10.5.0.0/16', '--subnet-len', '31'], 2, /--subnet-len: 31 is too long/],
    ['a subnet length too short', ['--network', '10.5.0.0/16', '--subnet-len', '17'], 2, /--subnet-len: 17 is too short/],
    ['a SubnetMin outside the network', ['--network', '10.5.0.0/16', '--subnet-min', '10.9.0.0'], 2, /--subnet-min: 10\.9\.0\.0 is outside/],
    ['a misaligned SubnetMax', ['--network', '10.5.0.0/16', '--subnet-max', '10.5.3.7'], 2, /--subnet-max: 10\.5\.3\.7 is not on a \/24 boundary/],
    ['an unknown backend', ['--network', '10.5.0.0/16', '--backend', 'udp'], 2, /--backend.*udp.*vxlan, host-gw/],
    ['a vxlan setting with host-gw', ['--network', '10.5.0.0/16', '--backend', 'host-gw', '--vni', '4'], 2, /--vni: only with --backend vxlan/],
    ['a VNI out of range', ['--network', '10.5.0.0/16', '--vni', '16777216'], 2, /--vni/],
    ['a negative subnet length', ['--network', '10.5.0.0/16', '--subnet-len', '-3'], 2, /subnet-len/],
    ['no network at all', [], 2, /--network is required \(or --ipv6-network/],
    ['an unknown flag', ['--network', '10.5.0.0/16', '--bogus'], 2, /bogus/],
  ]
  it.each(bad)('rejects %s with one line and the right exit code, writing nothing', async (_what, args, code, message) => {
    const prefixes = uniquePrefixes('bad')
    const env = cliEnv(etcd().endpoint, prefixes)
    const result = await runCli(['network', 'init', ...args], {env})
    expect(result.exitCode).toBe(code)
    expect(result.stderr).toMatch(message)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(await snapshot(prefixes)).toEqual([])
  })

  it('names the field of a bad config file, exit 3, and writes nothing', async () => {
    const prefixes = uniquePrefixes('file')
    const file = join(mkdtempSync(join(tmpdir(), 'cnet-netconf-')), 'net-conf.json')
    writeFileSync(file, JSON.stringify({Network: '10.5.0.0/16', Backend: {Type: 'udp'}}))
    const result = await runCli(['network', 'init', '--from-file', file], {env: cliEnv(etcd().endpoint, prefixes)})
    expect(result.exitCode).toBe(3)
    expect(result.stderr).toMatch(/Backend\.Type: "udp" is not supported/)
    expect(await snapshot(prefixes)).toEqual([])
    writeFileSync(file, JSON.stringify({Network: '10.5.0.0/16', SubnetLen: 26}))
    expect((await runCli(['network', 'init', '--from-file', file], {env: cliEnv(etcd().endpoint, prefixes)})).exitCode).toBe(0)
  })

  it('says how to create a missing config (exit 3) and reports an invalid stored one (exit 3)', async () => {
    const prefixes = uniquePrefixes('missing')
    const env = cliEnv(etcd().endpoint, prefixes)
    const missing = await runCli(['network', 'show'], {env})
    expect(missing.exitCode).toBe(3)
    expect(missing.stderr).toMatch(/cnet network init --network CIDR/)
    await store.put(`${prefixes.networkPrefix}/config`, '{"Network": "10.5.0.0/16", "SubnetLen": 40}')
    const invalid = await runCli(['network', 'show', '--json'], {env})
    expect(invalid.exitCode).toBe(3)
    expect(invalid.stderr).toMatch(/SubnetLen: 40 is too long/)
    expect(JSON.parse(invalid.stdout)).toMatchObject({error: {code: 'ConfigError', exitCode: 3}})
  })

  it('rejects a bad global flag value that came from the environment', async () => {
    const prefixes = uniquePrefixes('usage')
    const env = {...cliEnv(etcd().endpoint, prefixes), CNET_ETCD_TIMEOUT: 'never'}
    const result = await runCli(['network', 'show'], {env})
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toMatch(/--etcd-timeout: "never" is not a duration/)
  })
})
