import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeEach, describe, expect, it} from '@jest/globals'
import {MemoryStore} from '../helpers/memory-store.js'
import {memoryStorePerTest} from '../helpers/memory-store-per-test.js'
import {runCommandInProcess as cnet} from '../helpers/run-command-in-process.js'

// The network and subnet commands run in-process on a MemoryStore: what they print,
// their exit codes, and what they leave in the store.

const CONFIG_KEY = '/coreos.com/network/config'
const SUBNETS = '/coreos.com/network/subnets/'
const dir = mkdtempSync(join(tmpdir(), 'cnet-commands-subnet-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const newStore = memoryStorePerTest()
let store: MemoryStore
beforeEach(() => {
  store = newStore()
})

const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>
const storedConfig = async () => JSON.parse((await store.get(CONFIG_KEY))!.value) as Record<string, unknown>
const subnetKeys = async () => (await store.list(SUBNETS)).items.map((i) => i.key)

/** A bad command line: one line on stderr, its exit code, nothing written. */
async function expectRefused(argv: string[], exitCode: number, message: RegExp): Promise<void> {
  const before = store.currentRevision
  const result = await cnet(argv, {store})
  expect(result.stderr).toMatch(message)
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1)
  expect(result.stderr).toMatch(/^cnet: /)
  expect(result.exitCode).toBe(exitCode)
  expect(store.currentRevision).toBe(before)
}

describe('network init and show', () => {
  it('writes flannel\'s config and says what it wrote; a second run changes nothing', async () => {
    const first = await cnet(['network', 'init', '--network', '10.5.0.0/16', '--vni', '42', '--port', '4789'], {store})
    expect(first).toEqual({stdout: 'network config created: 10.5.0.0/16 (subnets /24, VNI 42, port 4789)\n', stderr: '', exitCode: 0})
    expect(await storedConfig()).toEqual({Network: '10.5.0.0/16', Backend: {Type: 'vxlan', VNI: 42, Port: 4789}})
    const revision = store.currentRevision
    const again = await cnet(['network', 'init', '--network', '10.5.0.0/16', '--vni', '42', '--port', '4789', '--json'], {store})
    expect(again.exitCode).toBe(0)
    expect(json(again.stdout)).toMatchObject({action: 'unchanged'})
    expect(store.currentRevision).toBe(revision)
  })

  it.each([
    [['--network', '10.5.0.0/16', '--backend', 'host-gw'], {Network: '10.5.0.0/16', Backend: {Type: 'host-gw'}}, 'backend host-gw'],
    [['--ipv6-network', 'fd00:42::/48'], {EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fd00:42::/48', Backend: {Type: 'vxlan'}}, 'fd00:42::/48 (subnets /64'],
    [
      ['--network', '10.6.0.0/16', '--subnet-len', '26', '--subnet-min', '10.6.0.64', '--subnet-max', '10.6.1.0', '--ipv6-network', 'fd00:7::/48', '--ipv6-subnet-len', '80', '--mtu', '1400', '--direct-routing'],
      {Network: '10.6.0.0/16', SubnetLen: 26, SubnetMin: '10.6.0.64', SubnetMax: '10.6.1.0', EnableIPv6: true, IPv6Network: 'fd00:7::/48', IPv6SubnetLen: 80, Backend: {Type: 'vxlan', MTU: 1400, DirectRouting: true}},
      '10.6.0.0/16 and fd00:7::/48 (subnets /26 and /80',
    ],
  ])('flags %j give the config %j', async (flags, stored, said) => {
    const result = await cnet(['network', 'init', ...flags], {store})
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toContain(said)
    expect(await storedConfig()).toEqual(stored)
  })

  it('reads net-conf.json from a file', async () => {
    const file = join(dir, 'net-conf.json')
    writeFileSync(file, JSON.stringify({Network: '10.9.0.0/16', Backend: {Type: 'vxlan', VNI: 9}}))
    const result = await cnet(['network', 'init', '--from-file', file, '--json'], {store})
    expect(result.exitCode).toBe(0)
    expect(json(result.stdout)).toMatchObject({action: 'created', config: {Network: '10.9.0.0/16', Backend: {VNI: 9}}})
    expect(await storedConfig()).toEqual({Network: '10.9.0.0/16', Backend: {Type: 'vxlan', VNI: 9}})
  })

  it('refuses to replace a different config without --force, and replaces it with --force', async () => {
    await cnet(['network', 'init', '--network', '10.5.0.0/16'], {store})
    await expectRefused(['network', 'init', '--network', '10.7.0.0/16'], 5, /--force/)
    const forced = await cnet(['network', 'init', '--network', '10.7.0.0/16', '--force'], {store})
    expect(forced.exitCode).toBe(0)
    expect(forced.stdout).toMatch(/^network config replaced: 10\.7\.0\.0\/16/)
    expect(await storedConfig()).toMatchObject({Network: '10.7.0.0/16'})
  })

  it.each([
    [[], 2, /--network is required/],
    [['--network', 'nope'], 2, /--network: "nope" is not an IPv4 CIDR/],
    [['--network', '10.5.0.0/16', '--backend', 'host-gw', '--vni', '3'], 2, /--vni: only with --backend vxlan/],
    [['--network', '10.5.0.0/16', '--backend', 'udp'], 2, /--backend/],
    [['--network', '10.5.0.0/16', '--subnet-len', '8'], 2, /--subnet-len/],
    [['--network', '10.5.0.0/16', '--vni', 'x'], 2, /--vni/],
    [['--network', '10.5.0.0/16', '--from-file', 'x'], 2, /--from-file|--network/],
    [['--from-file', '/nonexistent/net-conf.json'], 3, /--from-file: cannot read \/nonexistent\/net-conf\.json/],
    [['--network', '10.5.0.0/16', '--etcd-endpoints', 'ftp://x'], 2, /--etcd-endpoints: "ftp:\/\/x" must start with http/],
    [['--network', '10.5.0.0/16', '--cnet-prefix', 'x'], 2, /--cnet-prefix: "x" must start with \//],
  ])('refuses %j (exit %i) and writes nothing', async (flags, exitCode, message) => {
    await expectRefused(['network', 'init', ...flags], exitCode, message)
  })

  it('refuses a file that is not a JSON object', async () => {
    const file = join(dir, 'array.json')
    writeFileSync(file, '[1, 2]')
    await expectRefused(['network', 'init', '--from-file', file], 3, /must hold a JSON object/)
  })

  it('tells a bad flag in a --json error document too', async () => {
    const result = await cnet(['network', 'init', '--bogus', '--json'], {store})
    expect(result.exitCode).toBe(2)
    expect(json(result.stdout)).toEqual({error: {code: 'UsageError', message: 'Nonexistent flag: --bogus (see cnet network init --help)', exitCode: 2}})
  })

  it('shows the config with its defaults, as a record and as JSON', async () => {
    await cnet(['network', 'init', '--network', '10.5.0.0/16'], {store})
    const human = await cnet(['network', 'show'], {store})
    expect(human.exitCode).toBe(0)
    expect(human.stdout).toMatch(/Network\s+10\.5\.0\.0\/16/)
    expect(human.stdout).toMatch(/Backend\.VNI\s+1/)
    const machine = await cnet(['network', 'show', '--json'], {store})
    expect(json(machine.stdout)).toMatchObject({Network: '10.5.0.0/16', SubnetLen: 24, SubnetMin: '10.5.1.0', Backend: {Type: 'vxlan', Port: 8472}})
  })

  it('network show with no config is a config error', async () => {
    const result = await cnet(['network', 'show', '--json'], {store})
    expect(result.exitCode).toBe(3)
    expect(json(result.stdout)).toMatchObject({error: {code: 'ConfigError', exitCode: 3}})
  })

  it.each([['network', 'show'], ['network', 'init', '--network', '10.5.0.0/16'], ['subnet', 'list'], ['subnet', 'show', '10.5.1.0/24']])(
    '%s %s with the store unreachable exits 4 naming the endpoint setting',
    async (...argv) => {
      const result = await cnet(argv, {store, down: true})
      expect(result.exitCode).toBe(4)
      expect(result.stderr).toMatch(/^cnet: .*unreachable.*check --etcd-endpoints \(CNET_ETCD_ENDPOINTS\)\)\n$/)
      expect(store.currentRevision).toBe(1)
    },
  )
})

describe('subnet lease, list, show, reserve, release', () => {
  beforeEach(async () => {
    await cnet(['network', 'init', '--network', '10.5.0.0/16'], {store})
  })

  const lease = (name: string, publicIp: string, ...more: string[]) =>
    cnet(['subnet', 'lease', '--public-ip', publicIp, '--subnet-file', join(dir, `${name}.env`), ...more], {store})

  it('leases a subnet, writes subnet.env and the VTEP MAC beside it, and reuses the lease the next time', async () => {
    const file = join(dir, 'a.env')
    const first = await lease('a', '192.0.2.10', '--json')
    expect(first.exitCode).toBe(0)
    const result = json(first.stdout)
    expect(result).toMatchObject({action: 'created', publicIp: '192.0.2.10', subnetFile: file, ttlSeconds: 86_400, backend: 'vxlan'})
    expect(readFileSync(file, 'utf8')).toContain(`FLANNEL_SUBNET=${String(result.subnet).replace(/\.0\/24$/, '.1/24')}`)
    expect(readFileSync(`${file}.vtep-mac`, 'utf8').trim()).toBe(result.vtepMac)
    const keys = await subnetKeys()
    expect(keys).toEqual([`${SUBNETS}${String(result.subnet).replace('/', '-')}`])
    const stored = JSON.parse((await store.get(keys[0]!))!.value)
    expect(stored).toMatchObject({PublicIP: '192.0.2.10', BackendType: 'vxlan', BackendData: {VtepMAC: result.vtepMac}})

    const again = await lease('a', '192.0.2.10')
    expect(again.exitCode).toBe(0)
    expect(again.stdout).toMatch(new RegExp(`^reused the lease of ${String(result.subnet).replace(/\./g, '\\.')} for 192\\.0\\.2\\.10 \\(VTEP MAC ${result.vtepMac}, expires in `))
    expect(await subnetKeys()).toEqual(keys)
  })

  it.each([
    [['--ttl', '10s'], 2, /--ttl/],
    [['--public-ip', 'x'], 2, /--public-ip: "x" is not an IPv4 address/],
    [['--public-ip', '192.0.2.1', '--public-ipv6', 'fe80::1'], 2, /--public-ipv6: fe80::1 is not a global unicast IPv6 address/],
    [['--public-ip', '192.0.2.1', '--release-on-exit'], 2, /--keep/],
    [['--public-ip', '192.0.2.1', '--metrics', '127.0.0.1:1'], 2, /--keep/],
    [['--public-ip', '192.0.2.1', '--iface', 'lo'], 2, /--iface|--public-ip/],
  ])('refuses %j (exit %i) and writes nothing', async (flags, exitCode, message) => {
    await expectRefused(['subnet', 'lease', '--subnet-file', join(dir, 'refused.env'), ...flags], exitCode, message)
  })

  it('lists the leases sorted by subnet, as a table and as JSON; show tells one', async () => {
    // Reserved first: the leases take free subnets at random.
    await cnet(['subnet', 'reserve', '10.5.7.0/24', '--public-ip', '192.0.2.7'], {store})
    await lease('one', '192.0.2.1')
    await lease('two', '192.0.2.2')
    const table = await cnet(['subnet', 'list'], {store})
    expect(table.exitCode).toBe(0)
    const lines = table.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^SUBNET\s+PUBLIC IP\s+VTEP MAC\s+HOST\s+LEASE$/)
    expect(lines).toHaveLength(4)
    expect(lines.find((l) => l.startsWith('10.5.7.0/24'))).toMatch(/192\.0\.2\.7\s.*reserved$/)
    expect(lines.filter((l) => /\sleased$/.test(l))).toHaveLength(2)
    const expiry = (await cnet(['subnet', 'list', '--expiry'], {store})).stdout.trimEnd().split('\n')
    expect(expiry[0]).toMatch(/^SUBNET\s+PUBLIC IP\s+VTEP MAC\s+HOST\s+EXPIRES IN$/)
    expect(expiry.filter((l) => /\s(23h59m\d+s|24h)$/.test(l))).toHaveLength(2)
    const rows = JSON.parse((await cnet(['subnet', 'list', '--json'], {store})).stdout) as {subnet: string; publicIp: string}[]
    expect(rows.map((r) => r.publicIp).sort()).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.7'])
    const subnets = rows.map((r) => r.subnet)
    expect(subnets).toEqual([...subnets].sort((a, b) => a.localeCompare(b, 'en', {numeric: true})))

    const wide = await cnet(['subnet', 'list', '--wide', '--no-headers'], {store})
    expect(wide.stdout).not.toContain('SUBNET')
    expect(wide.stdout).toContain('/coreos.com/network/subnets/10.5.7.0-24')

    const shown = await cnet(['subnet', 'show', '10.5.7.0/24'], {store})
    expect(shown.exitCode).toBe(0)
    expect(shown.stdout).toMatch(/public IP\s+192\.0\.2\.7/)
    expect(shown.stdout).toMatch(/key\s+\/coreos\.com\/network\/subnets\/10\.5\.7\.0-24/)
  })

  it('an empty list says so on stderr and prints nothing on stdout', async () => {
    const result = await cnet(['subnet', 'list'], {store})
    expect(result).toEqual({stdout: '', stderr: 'no subnet leases\n', exitCode: 0})
  })

  it.each([
    [['subnet', 'show', '10.5.9.0/24'], 3, /no lease for 10\.5\.9\.0\/24/],
    [['subnet', 'show', 'nope'], 2, /SUBNET: "nope" is not a subnet/],
    [['subnet', 'show', '10.6.0.0/24'], 2, /SUBNET: 10\.6\.0\.0\/24 is not in the network 10\.5\.0\.0\/16/],
    [['subnet', 'show'], 2, /Missing 1 required arg/],
    [['subnet', 'reserve', '10.5.7.0/24'], 2, /Missing required flag --public-ip/],
    [['subnet', 'reserve', '10.5.7.0/24', '--public-ip', 'x'], 2, /--public-ip: "x" is not an IPv4 address/],
    [['subnet', 'reserve', '10.5.7.0/25', '--public-ip', '192.0.2.7'], 2, /is not a \/24 subnet/],
    [['subnet', 'reserve', '10.5.7.0/24', '--public-ip', '192.0.2.7', '--ipv6-subnet', 'fd00::/64'], 2, /--ipv6-subnet: the network config does not enable both/],
  ])('%j exits %i and writes nothing', async (argv, exitCode, message) => {
    await expectRefused(argv, exitCode, message)
  })

  it('releasing a subnet nobody holds is not an error', async () => {
    const before = store.currentRevision
    expect(await cnet(['subnet', 'release', '10.5.9.0/24', '--force'], {store})).toEqual({stdout: '10.5.9.0/24 was not leased: nothing to release\n', stderr: '', exitCode: 0})
    expect(store.currentRevision).toBe(before)
  })

  it('reserves a subnet with no expiry, and refuses one already held', async () => {
    const result = await cnet(['subnet', 'reserve', '10.5.7.0/24', '--public-ip', '192.0.2.7', '--json'], {store})
    expect(result.exitCode).toBe(0)
    expect(json(result.stdout)).toMatchObject({subnet: '10.5.7.0/24', publicIp: '192.0.2.7'})
    const stored = await store.get(`${SUBNETS}10.5.7.0-24`)
    expect(stored?.lease).toBeNull()
    expect(JSON.parse(stored!.value)).toMatchObject({PublicIP: '192.0.2.7'})
    await expectRefused(['subnet', 'reserve', '10.5.7.0/24', '--public-ip', '192.0.2.8'], 5, /already held by 192\.0\.2\.7/)
    expect((await cnet(['subnet', 'reserve', '10.5.8.0/24', '--public-ip', '192.0.2.8'], {store})).stdout).toBe('reserved 10.5.8.0/24 for 192.0.2.8\n')
  })

  it('releases this host\'s lease named by its subnet file, and another host\'s only with --force', async () => {
    const mine = json((await lease('mine', '192.0.2.21', '--json')).stdout)
    const theirs = json((await lease('theirs', '192.0.2.22', '--json')).stdout)
    // "theirs" belongs to no address here, and "mine"'s subnet file keeps another VTEP MAC.
    await expectRefused(['subnet', 'release', String(theirs.subnet), '--subnet-file', join(dir, 'mine.env')], 5, /held by 192\.0\.2\.22, not by this host.*only by force; check --force/)
    const released = await cnet(['subnet', 'release', '--subnet-file', join(dir, 'mine.env'), '--json'], {store})
    expect(released.exitCode).toBe(0)
    expect(json(released.stdout)).toMatchObject({subnet: mine.subnet, released: true})
    const forced = await cnet(['subnet', 'release', String(theirs.subnet), '--force'], {store})
    expect(forced).toEqual({stdout: `released ${theirs.subnet}\n`, stderr: '', exitCode: 0})
    expect(await subnetKeys()).toEqual([])
  })

  it('release with a subnet file that does not exist names the flag', async () => {
    await expectRefused(['subnet', 'release', '--subnet-file', join(dir, 'absent.env')], 2, /--subnet-file: .*absent\.env does not exist and no subnet was named/)
  })
})
