import {type ChildProcess, spawn} from 'node:child_process'
import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {execa} from 'execa'
import {openStore} from '../../src/store/index.js'
import {CLI, cliEnv} from '../helpers/cli.js'
import {type EtcdMember, sleep, startEtcd} from '../helpers/etcd.js'
import {type Underlay, cleanup, createUnderlay, listNamespaces} from '../helpers/netns.js'
import {servicesFixture} from '../helpers/services-fixture.js'
import {uniquePrefixes} from '../helpers/shared-etcd.js'

const PREFIX = 'cnd-'

describe('glibc resolves a service name through cnet dns serve', () => {
  let underlay: Underlay
  let etcd: EtcdMember
  let server: ChildProcess | undefined
  let ns: string
  const prefixes = uniquePrefixes('dnse2e')

  beforeAll(async () => {
    await cleanup(PREFIX)
    underlay = await createUnderlay(PREFIX, 1, '10.97.0')
    ns = underlay.hosts[0]!.ns
    etcd = await startEtcd({name: 'dnse2e', host: underlay.rootAddress})
    const store = await openStore({endpoints: [etcd.endpoint]})
    const fixture = servicesFixture(store, prefixes)
    await fixture.putInstance({id: 'w1', name: 'web', address: '10.20.0.1', tags: ['canary']})
    await fixture.putInstance({id: 'w2', name: 'web', address: '10.20.0.2'})
    await store.close()
    mkdirSync(`/etc/netns/${ns}`, {recursive: true})
    writeFileSync(`/etc/netns/${ns}/resolv.conf`, 'nameserver 127.0.0.1\n')
    await execa('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up'])
    let stderr = ''
    server = spawn('ip', ['netns', 'exec', ns, process.execPath, CLI, 'dns', 'serve', '--listen', '127.0.0.1:53', '--upstream', '127.0.0.1:9', '--workers', '1'], {
      env: {...process.env, NO_COLOR: '1', ...cliEnv(etcd.endpoint, prefixes)},
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    server.stderr!.on('data', (d) => (stderr += d))
    for (let i = 0; i < 200 && !stderr.includes('serving DNS'); i++) await sleep(50)
    if (!stderr.includes('serving DNS')) throw new Error(`dns serve did not start: ${stderr}`)
  }, 60_000)

  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM')
      await new Promise((resolve) => server!.on('exit', resolve))
    }
    await etcd?.destroy()
    if (ns) rmSync(`/etc/netns/${ns}`, {recursive: true, force: true})
    await cleanup(PREFIX)
    expect(await listNamespaces(PREFIX)).toEqual([])
  })

  it('getent hosts prints the instance addresses', async () => {
    const {stdout} = await execa('ip', ['netns', 'exec', ns, 'getent', 'ahostsv4', 'web.default.svc.cluster.local'])
    const addresses = new Set(stdout.split('\n').map((line) => line.split(/\s+/)[0]))
    expect([...addresses].sort()).toEqual(['10.20.0.1', '10.20.0.2'])
    const hosts = await execa('ip', ['netns', 'exec', ns, 'getent', 'hosts', 'web.default.svc.cluster.local'])
    expect(hosts.stdout).toMatch(/^10\.20\.0\.[12]\s+web\.default\.svc\.cluster\.local/)
  })

  it('getent hosts prints only the tagged instance for a tag name, and the NS target', async () => {
    const {stdout} = await execa('ip', ['netns', 'exec', ns, 'getent', 'hosts', 'canary._tag.web.default.svc.cluster.local'])
    expect(stdout.trim()).toMatch(/^10\.20\.0\.1\s+canary\._tag\.web\.default\.svc\.cluster\.local$/)
    const untagged = await execa('ip', ['netns', 'exec', ns, 'getent', 'hosts', 'nobody._tag.web.default.svc.cluster.local'], {reject: false})
    expect(untagged.exitCode).toBe(2) // not found
    const nameserver = await execa('ip', ['netns', 'exec', ns, 'getent', 'hosts', 'ns.dns.cluster.local'])
    expect(nameserver.stdout).toMatch(/^127\.0\.0\.1\s+ns\.dns\.cluster\.local/)
  })
})
