import {copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {cidrContainsIp, parseIp} from '../../src/net/ip.js'
import {parseSubnetEnv} from '../../src/net/subnet-env.js'
import {runCommand} from '../../src/lib/run-command.js'
import {cliEnv, runCli} from '../helpers/cli.js'
import {type EtcdMember, startEtcd} from '../helpers/etcd.js'
import {cleanup, createUnderlay, inNs, tearDown, type Underlay} from '../helpers/netns.js'
import {uniquePrefixes} from '../helpers/shared-etcd.js'

/**
 * podman as a real runtime on cnet's CNI plugin: two hosts in namespaces with real
 * leases and the VXLAN overlay, `cnet cni install` on each, and podman (CNI backend, its
 * own containers.conf through CONTAINERS_CONF, its own storage and network config dir,
 * nothing under /etc/containers) running busybox from a root filesystem directory.
 *
 * podman runs in a host's namespace through `nsenter --net`, not `ip netns exec`: the
 * latter mounts a fresh /sys, which hides the cgroup mounts runc needs, and its private
 * mount namespace would keep the container's namespace mount from the next podman call.
 */
const PREFIX = 'cnp-'
const NETWORK = 'cnp'
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const BUSYBOX_APPLETS = ['sh', 'httpd', 'wget', 'ping', 'ip', 'timeout']
const PAGE = 'hello from a podman container on cnet\n'

async function has(command: string): Promise<boolean> {
  return (await runCommand('sh', ['-c', `command -v ${command} || test -x /usr/sbin/${command}`], {allowFailure: true})).exitCode === 0
}

/** podman, runc and a busybox to put in the container; a fresh machine gets them from Debian through setup.sh. */
async function ensureRuntime(): Promise<string> {
  const needed = ['podman', 'runc', 'busybox', 'nsenter']
  const missing = async () => (await Promise.all(needed.map(async (c) => ((await has(c)) ? undefined : c)))).filter(Boolean)
  if ((await missing()).length > 0) await runCommand('bash', [join(ROOT, 'scripts', 'setup.sh')], {timeoutMs: 600_000})
  expect(await missing()).toEqual([])
  const busybox = (await runCommand('sh', ['-c', 'command -v busybox'])).stdout.trim()
  // The container has no libraries: the binary must be static (Debian's busybox-static).
  const ldd = await runCommand('ldd', [busybox], {allowFailure: true})
  expect(`${ldd.stdout}${ldd.stderr}`).toMatch(/not a dynamic executable|statically linked/)
  return busybox
}

describe('podman runs containers on cnet across two hosts', () => {
  let underlay: Underlay
  let etcd: EtcdMember
  let dir: string
  const prefixes = uniquePrefixes('podman')
  const host = (i: number) => join(dir, `h${i}`)
  const ns = (i: number) => underlay.hosts[i - 1].ns
  const subnetFile = (i: number) => join(host(i), 'subnet.env')
  const dataDir = (i: number) => join(host(i), 'cni')
  const confFile = (i: number) => join(host(i), 'net.d', `10-${NETWORK}.conflist`)
  const containers = new Map<string, {host: number; address: string}>()

  /** podman on host i: its own storage, state and network config dir; the shared containers.conf. */
  const podman = (i: number, args: string[], allowFailure = false) =>
    runCommand(
      'nsenter',
      [`--net=/run/netns/${ns(i)}`, 'podman', '--root', join(host(i), 'storage'), '--runroot', join(host(i), 'run'), '--tmpdir', join(host(i), 'tmp'), '--storage-driver', 'vfs', '--network-config-dir', join(host(i), 'net.d'), ...args],
      {env: {CONTAINERS_CONF: join(dir, 'containers.conf')}, timeoutMs: 60_000, allowFailure},
    )
  const subnetOf = (i: number) => {
    const parsed = parseSubnetEnv(readFileSync(subnetFile(i), 'utf8'))
    if (!parsed.ok || !parsed.env.subnet) throw new Error(`host ${i}: no subnet in ${subnetFile(i)}`)
    return parsed.env.subnet
  }
  const install = (i: number) =>
    runCli(['cni', 'install', '--conf-dir', join(host(i), 'net.d'), '--bin-dir', join(dir, 'bin'), '--subnet-file', subnetFile(i), '--data-dir', dataDir(i), '--name', NETWORK, '--json'])

  beforeAll(async () => {
    const busybox = await ensureRuntime()
    await cleanup(PREFIX)
    dir = mkdtempSync(join(tmpdir(), 'cnp-'))
    // The container's root filesystem: a static busybox and a page for its httpd.
    const rootfs = join(dir, 'rootfs')
    mkdirSync(join(rootfs, 'bin'), {recursive: true})
    mkdirSync(join(rootfs, 'www'))
    copyFileSync(busybox, join(rootfs, 'bin', 'busybox'))
    for (const applet of BUSYBOX_APPLETS) symlinkSync('busybox', join(rootfs, 'bin', applet))
    writeFileSync(join(rootfs, 'www', 'index.html'), PAGE)
    writeFileSync(
      join(dir, 'containers.conf'),
      [
        '[containers]',
        // runc cannot raise limits above this machine's own (podman's default asks for 1048576).
        'default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]',
        '[network]',
        'network_backend = "cni"',
        `cni_plugin_dirs = ["${join(dir, 'bin')}", "/usr/lib/cni"]`,
        '[engine]',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "none"',
        'lock_type = "file"',
        'runtime = "runc"',
        '',
      ].join('\n'),
    )

    underlay = await createUnderlay(PREFIX, 2, '10.88.0')
    etcd = await startEtcd({name: 'podman', host: underlay.rootAddress})
    const env = cliEnv(etcd.endpoint, prefixes)
    expect((await runCli(['network', 'init', '--network', '10.58.0.0/16'], {env})).exitCode).toBe(0)
    for (const i of [1, 2]) {
      const lease = await runCli(['subnet', 'lease', '--public-ip', underlay.hosts[i - 1].address, '--subnet-file', subnetFile(i)], {env, netns: ns(i)})
      expect([lease.exitCode, lease.stderr]).toEqual([0, ''])
    }
    for (const i of [1, 2]) {
      expect((await runCli(['vxlan', 'up', '--subnet-file', subnetFile(i)], {env, netns: ns(i)})).exitCode).toBe(0)
      const installed = await install(i)
      expect(installed.exitCode).toBe(0)
      expect(JSON.parse(installed.stdout).missingPlugins).toEqual([])
    }
  }, 180_000)

  afterAll(async () => {
    for (const i of [1, 2]) if (underlay && dir && existsSync(host(i))) await podman(i, ['rm', '--force', '--all', '--time', '0'], true)
    expect(await tearDown(PREFIX, {etcd, dir})).toEqual({namespaces: [], links: []})
  }, 60_000)

  it('runs a container on each host, each with an address from its host’s lease', async () => {
    for (const [name, i, publish] of [['cnp-c1', 1, ['--publish', '8080:80']], ['cnp-c2', 2, []]] as const) {
      await podman(i, ['run', '--detach', '--name', name, '--network', NETWORK, ...publish, '--rootfs', join(dir, 'rootfs'), '/bin/httpd', '-f', '-p', '80', '-h', '/www'])
      const address = (await podman(i, ['inspect', name, '--format', `{{(index .NetworkSettings.Networks "${NETWORK}").IPAddress}}`])).stdout.trim()
      expect(cidrContainsIp(subnetOf(i), parseIp(address)!)).toBe(true)
      // The address is on the container's interface, not only in podman's records.
      expect((await podman(i, ['exec', name, 'ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'])).stdout).toContain(`inet ${address}/24`)
      containers.set(name, {host: i, address})
    }
  }, 60_000)

  it('a container reaches the container on the other host through the overlay', async () => {
    // busybox 1.35's wget crashes with its own -T: timeout(1) bounds it instead.
    const fetched = await podman(2, ['exec', 'cnp-c2', 'timeout', '5', 'wget', '-q', '-O', '-', `http://${containers.get('cnp-c1')!.address}/`])
    expect(fetched.stdout).toBe(PAGE)
    const ping = await podman(1, ['exec', 'cnp-c1', 'ping', '-c', '1', '-W', '5', containers.get('cnp-c2')!.address])
    expect(ping.stdout).toMatch(/1 packets received/)
  }, 30_000)

  it('a published port reaches the container through portmap, from the other host', async () => {
    expect(await inNs(ns(2), 'curl', ['-s', '-m', '5', `http://${underlay.hosts[0].address}:8080/`])).toBe(PAGE)
  }, 30_000)

  it('podman rm -f leaves no address, saved config or iptables rule behind', async () => {
    const ids = new Map<string, string>()
    for (const [name, {host: i}] of containers) {
      ids.set(name, (await podman(i, ['inspect', name, '--format', '{{.Id}}'])).stdout.trim())
      expect(readdirSync(dataDir(i))).toContain(ids.get(name))
      expect(readdirSync(join(dataDir(i), '_ipam', NETWORK))).toContain(containers.get(name)!.address)
      expect(readdirSync('/var/lib/cni/results').some((file) => file.includes(ids.get(name)!))).toBe(true)
      await podman(i, ['rm', '--force', '--time', '0', name])
    }
    for (const [name, {host: i, address}] of containers) {
      expect(readdirSync(join(dataDir(i), '_ipam', NETWORK))).not.toContain(address)
      expect(readdirSync(dataDir(i))).toEqual(['_ipam'])
      // podman's own cache of CNI results (libcni's default, /var/lib/cni/results) lets go of it too.
      expect(readdirSync('/var/lib/cni/results').filter((file) => file.includes(ids.get(name)!))).toEqual([])
      const rules = await inNs(ns(i), 'iptables-save', [])
      expect(rules).not.toContain(ids.get(name)!)
      // The bridge's per-container masquerade chain and portmap's per-container DNAT chain.
      expect(rules).not.toMatch(/CNI-[0-9a-f]{24}|CNI-DN-/)
      // The container's end of the bridge is gone (eth0 is the host's own underlay veth).
      const veths = JSON.parse((await runCommand('ip', ['-n', ns(i), '-j', 'link', 'show', 'type', 'veth'])).stdout) as {ifname: string}[]
      expect(veths.map((link) => link.ifname)).toEqual(['eth0'])
    }
  }, 60_000)

  it('podman network rm deletes the conflist; cnet cni install puts it back', async () => {
    await podman(1, ['network', 'rm', NETWORK])
    expect(existsSync(confFile(1))).toBe(false)
    const again = await install(1)
    expect(JSON.parse(again.stdout).written).toEqual([confFile(1)])
    expect((await podman(1, ['network', 'ls', '--format', '{{.Name}}'])).stdout.split('\n')).toContain(NETWORK)
  }, 30_000)
})
