import {type ChildProcess, spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {openStore} from '../../src/store/index.js'
import type {Store} from '../../src/store/store.js'
import {CLI, cliEnv, runCli} from '../helpers/cli.js'
import {type EtcdMember, sleep, startEtcd} from '../helpers/etcd.js'
import {uniquePrefixes} from '../helpers/shared-etcd.js'
import {waitFor} from '../helpers/poll.js'

interface Keeper {
  child: ChildProcess
  lease: {key: string; subnet: string; vtepMac: string; action: string}
  stderr(): string
  exited: Promise<number | null>
}

/** Starts `subnet lease --keep --json` and waits until it printed the lease it holds. */
async function startKeeper(env: Record<string, string>, publicIp: string, file: string, ttl = '2s'): Promise<Keeper> {
  const args = [CLI, 'subnet', 'lease', '--public-ip', publicIp, '--subnet-file', file, '--ttl', ttl, '--keep', '--json', '--etcd-timeout', '1s']
  const child = spawn(process.execPath, args, {env: {...process.env, ...env, CNET_UNSAFE_MIN_TTL: '1s'}, stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d) => (stdout += d))
  child.stderr!.on('data', (d) => (stderr += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  try {
    await waitFor('the keeper to print its lease', () => stdout.includes('}'), {timeoutMs: 15_000})
  } catch (error) {
    child.kill('SIGKILL')
    throw new Error(`the keeper printed no lease: ${stderr}`, {cause: error})
  }
  return {child, lease: JSON.parse(stdout), stderr: () => stderr, exited}
}

/** Stops a keeper still running (after a failed expectation, say) and waits for it. */
async function endKeeper(keeper: Keeper): Promise<number | null> {
  if (keeper.child.exitCode === null && keeper.child.signalCode === null) {
    keeper.child.kill('SIGCONT')
    keeper.child.kill('SIGTERM')
    const code = await Promise.race([keeper.exited, sleep(20_000).then(() => 'still running' as const)])
    if (code === 'still running') keeper.child.kill('SIGKILL')
    return code === 'still running' ? null : code
  }
  return keeper.exited
}


const OTHER_HOST = '{"PublicIP":"192.168.99.99","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}'

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
      await waitFor('the keeper to print its lease', () => stdout.includes('}'), {timeoutMs: 15_000})
      const {key, subnet} = JSON.parse(stdout) as {key: string; subnet: string}
      const envBefore = readFileSync(file, 'utf8')

      // etcd extends every lease when it starts again, so this covers the keeper riding
      // out an unreachable etcd, not a lost lease (the tests below let it expire).
      await etcd.stop()
      await sleep(5000) // proves a negative: down for more than twice the TTL, the keeper neither exits nor rewrites the file
      expect(child.exitCode).toBeNull() // still running, still holding the subnet
      expect(readFileSync(file, 'utf8')).toBe(envBefore)
      await etcd.start()
      await etcd.waitReady()

      const store = await openStore({endpoints: [etcd.endpoint]})
      try {
        const held = await waitFor('the lease key back after the restart', () => store.get(key), {timeoutMs: 10_000, intervalMs: 100})
        expect(held.value).toContain('"PublicIP":"192.168.14.1"')
        await sleep(3000) // proves a negative: past the TTL again, the key is still there: the lease is being kept alive
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

  describe('when the etcd lease really expires (the keeper frozen past its TTL, etcd up)', () => {
    let store: Store
    beforeAll(async () => {
      store = await openStore({endpoints: [etcd.endpoint]})
    })
    afterAll(async () => store?.close())

    async function network(label: string, cidr: string) {
      const env = cliEnv(etcd.endpoint, uniquePrefixes(label))
      expect((await runCli(['network', 'init', '--network', cidr], {env})).exitCode).toBe(0)
      return env
    }

    /** A host that already holds a lease (a one-shot run with a long TTL) and then starts keeping it. */
    async function reusedKeeper(env: Record<string, string>, publicIp: string, file: string): Promise<Keeper> {
      const first = await runCli(['subnet', 'lease', '--public-ip', publicIp, '--subnet-file', file, '--ttl', '1h', '--json'], {env})
      expect(first.exitCode).toBe(0)
      const keeper = await startKeeper(env, publicIp, file)
      expect(keeper.lease).toMatchObject({action: 'reused', key: JSON.parse(first.stdout).key})
      return keeper
    }

    for (const kind of ['created', 'reused'] as const) {
      it(`takes the same subnet back under a new etcd lease (${kind} lease), subnet.env byte for byte the same`, async () => {
        const env = await network(`regrant-${kind}`, '10.15.0.0/16')
        const file = join(mkdtempSync(join(tmpdir(), 'cnet-regrant-')), 'subnet.env')
        const publicIp = kind === 'created' ? '192.168.15.1' : '192.168.15.2'
        const keeper = kind === 'created' ? await startKeeper(env, publicIp, file) : await reusedKeeper(env, publicIp, file)
        try {
          expect(keeper.lease.action).toBe(kind)
          const {key} = keeper.lease
          const before = (await store.get(key))!
          const envBefore = readFileSync(file)
          const macBefore = readFileSync(`${file}.vtep-mac`)

          keeper.child.kill('SIGSTOP')
          // the etcd lease expired and took the key with it
          await waitFor('the key to expire', async () => (await store.get(key)) === null, {timeoutMs: 10_000, intervalMs: 100})
          expect(await store.leaseTimeToLive(before.lease!)).toBeNull()
          keeper.child.kill('SIGCONT')

          const back = await waitFor('the key put back', () => store.get(key), {timeoutMs: 10_000, intervalMs: 100})
          expect(back?.value).toBe(before.value)
          expect(back?.lease).not.toBeNull()
          expect(back?.lease).not.toBe(before.lease)
          await sleep(3000) // proves a negative: past the TTL again, the key keeps its new lease: it is kept alive
          expect((await store.get(key))?.lease).toBe(back?.lease)
          expect(keeper.child.exitCode).toBeNull()
          expect(readFileSync(file).equals(envBefore)).toBe(true)
          expect(readFileSync(`${file}.vtep-mac`).equals(macBefore)).toBe(true)
          expect(keeper.stderr()).toMatch(/etcd lease was lost; granted again/)
        } finally {
          expect(await endKeeper(keeper)).toBe(0)
        }
      }, 60_000)

      it(`exits 5 naming the subnet, and leaves it alone, when another host took it meanwhile (${kind} lease)`, async () => {
        const env = await network(`taken-${kind}`, '10.16.0.0/16')
        const file = join(mkdtempSync(join(tmpdir(), 'cnet-taken-')), 'subnet.env')
        const publicIp = kind === 'created' ? '192.168.16.1' : '192.168.16.2'
        const keeper = kind === 'created' ? await startKeeper(env, publicIp, file) : await reusedKeeper(env, publicIp, file)
        let theirLease: string | undefined
        try {
          const {key, subnet} = keeper.lease
          const ours = (await store.get(key))!
          keeper.child.kill('SIGSTOP')
          await store.revokeLease(ours.lease!)
          expect(await store.get(key)).toBeNull()
          // Another host (flannel's format, its own etcd lease) takes the free subnet.
          theirLease = await store.grantLease(60)
          expect(await store.create(key, OTHER_HOST, {lease: theirLease})).toBe(true)
          const theirs = (await store.get(key))!
          keeper.child.kill('SIGCONT')

          const code = await Promise.race([keeper.exited, sleep(15_000).then(() => 'still running')])
          expect(code).toBe(5)
          const errors = keeper.stderr().split('\n').filter((line) => line.startsWith('cnet:'))
          expect(errors).toHaveLength(1)
          expect(errors[0]).toContain(`subnet: ${subnet} was taken by another host`)
          // no pod may take addresses from a subnet that is no longer ours
          expect(errors[0]).toContain(`removed ${file}`)
          expect(existsSync(file)).toBe(false)
          expect(await store.get(key)).toEqual(theirs) // same value, same etcd lease, same revision
        } finally {
          await endKeeper(keeper)
          if (theirLease) await store.revokeLease(theirLease)
        }
      }, 60_000)
    }
  })

  it('writes a dual-stack lease as flannel does', async () => {
    const prefixes = uniquePrefixes('dual')
    const env = cliEnv(etcd.endpoint, prefixes)
    expect((await runCli(['network', 'init', '--network', '10.42.0.0/16', '--ipv6-network', '2001:cafe:42::/56'], {env})).exitCode).toBe(0)
    const file = join(mkdtempSync(join(tmpdir(), 'cnet-dual-')), 'subnet.env')
    const result = await runCli(['subnet', 'lease', '--public-ip', '192.168.42.1', '--public-ipv6', '2001:db8:42::1', '--subnet-file', file, '--json'], {env})
    expect(result.exitCode).toBe(0)
    const out = JSON.parse(result.stdout) as {key: string; subnet: string; ipv6Subnet: string; vtepMac: string; vtepMacV6: string; hostName: string}
    expect(out.ipv6Subnet).toMatch(/^2001:cafe:42:[0-9a-f]+::\/64$/)
    expect(out.key).toBe(`${prefixes.networkPrefix}/subnets/${out.subnet.replace('/', '-')}&${out.ipv6Subnet.replace('/', '-')}`)
    const store = await openStore({endpoints: [etcd.endpoint]})
    try {
      expect((await store.get(out.key))!.value).toBe(
        `{"PublicIP":"192.168.42.1","PublicIPv6":"2001:db8:42::1","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${out.vtepMac}"},"BackendV6Data":{"VNI":1,"VtepMAC":"${out.vtepMacV6}"},"HostName":"${out.hostName}"}`,
      )
    } finally {
      await store.close()
    }
    const text = readFileSync(file, 'utf8')
    expect(text).toContain('FLANNEL_IPV6_NETWORK=2001:cafe:42::/56\n')
    expect(text).toContain(`FLANNEL_IPV6_SUBNET=${out.ipv6Subnet.replace('::/64', '::1/64')}\n`)
  })
})
