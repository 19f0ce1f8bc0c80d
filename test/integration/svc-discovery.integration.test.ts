import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {Keys, openStore} from '../../src/store/index.js'
import type {Store} from '../../src/store/store.js'
import {cliEnv, runCli} from '../helpers/cli.js'
import {uniquePrefixes, useEtcd} from '../helpers/shared-etcd.js'

const CONSUL = {
  services: [
    {name: 'web', id: 'web-1', address: '10.0.0.1', port: 80, tags: ['canary', 'v2'], meta: {version: '2'}, weights: {passing: 5, warning: 1},
      check: {http: 'http://10.0.0.1:80/health', method: 'HEAD', header: {'X-Probe': ['cnet']}, tls_skip_verify: true, interval: '5s', deregister_critical_service_after: '10m'}},
    {Name: 'web', ID: 'web-2', Address: '10.0.0.2', Port: 80, Tags: ['v2'], Checks: [{TCP: '10.0.0.2:80', Interval: '2s', Status: 'passing'}]},
    {name: 'batch', address: '10.0.0.3', port: 9000, checks: [{args: ['/bin/true'], interval: '30s'}], enable_tag_override: false},
  ],
}

describe('definition files, filters, show and maintenance through the CLI', () => {
  const etcd = useEtcd('svc-discovery')
  let store: Store
  const dir = mkdtempSync(join(tmpdir(), 'cnet-defs-'))
  const file = (name: string, content: unknown) => {
    const path = join(dir, name)
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
    return path
  }
  beforeAll(async () => {
    store = await openStore({endpoints: [etcd().endpoint]})
  })
  afterAll(async () => store?.close())

  const setup = () => {
    const prefixes = uniquePrefixes('defs')
    const env = cliEnv(etcd().endpoint, prefixes)
    const cli = (args: string[], input?: string) => runCli(args, {env, input})
    return {prefixes, keys: new Keys(prefixes), env, cli, snapshot: async () => (await store.list(`${prefixes.cnetPrefix}/`)).items.map((i) => `${i.key}@${i.modRevision}`)}
  }

  it("registers Consul's definitions idempotently, refuses bad ones naming the field, and deregisters what a file defines", async () => {
    const {keys, cli, snapshot} = setup()
    const consul = file('consul.json', CONSUL)
    const first = await cli(['svc', 'register', '--file', consul, '--node', 'n1', '--json'])
    expect(first.exitCode).toBe(0)
    expect((JSON.parse(first.stdout) as {id: string; action: string}[]).map((r) => [r.id, r.action])).toEqual([['web-1', 'created'], ['web-2', 'created'], ['batch', 'created']])
    const web1 = JSON.parse((await store.get(keys.service('default', 'web', 'web-1')))!.value)
    expect(web1).toMatchObject({tags: ['canary', 'v2'], meta: {version: '2'}, weight: 5, node: 'n1',
      check: {type: 'http', method: 'HEAD', headers: {'X-Probe': ['cnet']}, tlsSkipVerify: true, intervalMs: 5000, timeoutMs: 5000, deregisterCriticalAfterMs: 600_000}})
    expect(JSON.parse((await store.get(keys.service('default', 'batch', 'batch')))!.value).check).toMatchObject({type: 'exec', args: ['/bin/true'], timeoutMs: 30_000})
    expect(JSON.parse((await store.get(keys.health('default', 'web', 'web-2')))!.value)).toMatchObject({status: 'passing'})
    // A second run writes nothing.
    const before = await snapshot()
    const again = await cli(['svc', 'register', '--file', consul, '--node', 'n1', '--json'])
    expect((JSON.parse(again.stdout) as {action: string}[]).map((r) => r.action)).toEqual(['unchanged', 'unchanged', 'unchanged'])
    expect(await snapshot()).toEqual(before)

    // Bad files: one line naming the field, exit 2, nothing written.
    const bad: [unknown, RegExp][] = [
      [{services: [CONSUL.services[0], CONSUL.services[1], {name: 'x', address: '10.0.0.9', port: 1, check: {tcp: '10.0.0.9:1', interval: 'often'}}]}, /services\[2\]\.check\.interval: "often" is not a duration/],
      [{services: [{name: 'x', address: '10.0.0.9', port: 1, checks: [{tcp: 'a:1', interval: '1s'}, {tcp: 'b:1', interval: '1s'}]}]}, /services\[0\]\.checks: 2 checks given: cnet runs one check per instance/],
      [{service: {name: 'x', address: '10.0.0.9', port: 1, check: {grpc: 'x:1', interval: '1s'}}}, /service\.check\.grpc: is not supported by cnet/],
      [{service: {name: 'x', port: 1}}, /service\.address: is required/],
      [{service: {name: 'x', address: '10.0.0.9', port: 1, check: {tcp: '10.0.0.9:1'}}}, /service\.check\.interval: required for an http, tcp or args check/],
      [{services: [{name: 'x', id: 'd', address: '10.0.0.9', port: 1}, {name: 'y', id: 'd', address: '10.0.0.9', port: 1}]}, /services\[1\]\.id: "d" is defined twice/],
      [{instances: [{name: 'x', address: '10.0.0.9', port: 1, check: {tcp: '10.0.0.9:1', timeout: '5s', interval: '1s'}}]}, /instances\[0\]\.check\.timeout: 5s is longer than the interval 1s/],
      ['{"service": ', /--file: not JSON/],
    ]
    const results = await Promise.all(bad.map(([content], i) => cli(['svc', 'register', '--file', file(`bad-${i}.json`, content)])))
    results.forEach((result, i) => {
      expect([result.exitCode, result.stderr.trim().split('\n').length]).toEqual([2, 1])
      expect(result.stderr).toMatch(bad[i]![1])
    })
    expect(await snapshot()).toEqual(before)
    const mixed = await cli(['svc', 'register', '--file', consul, '--address', '10.0.0.1'])
    expect([mixed.exitCode, mixed.stderr]).toEqual([2, expect.stringMatching(/--address: not with --file/)])

    const gone = await cli(['svc', 'deregister', '--file', consul, '--json'])
    expect((JSON.parse(gone.stdout) as {action: string}[]).map((r) => r.action)).toEqual(['removed', 'removed', 'removed'])
    expect(await snapshot()).toEqual([])
    const twice = await cli(['svc', 'deregister', '--file', consul, '--json'])
    expect([twice.exitCode, (JSON.parse(twice.stdout) as {action: string}[]).map((r) => r.action)]).toEqual([0, ['absent', 'absent', 'absent']])
  }, 60_000)

  it("reads cnet's own shape from stdin; list filters by tag, node and status; resolve by tag; show; maintenance", async () => {
    const {keys, cli} = setup()
    const instances = [
      {name: 'api', id: 'api-1', address: '10.1.0.1', port: 8080, tags: ['canary'], node: 'n1'},
      {name: 'api', id: 'api-2', address: '10.1.0.2', port: 8080, tags: ['stable'], node: 'n2', check: {tcp: '10.1.0.2:8080', interval: '1s'}, initialStatus: 'warning'},
      {name: 'api', id: 'api-3', address: '10.1.0.3', port: 8080, tags: ['stable', 'canary'], node: 'n2', check: {ttl: '1m'}},
    ]
    const registered = await cli(['svc', 'register', '--file', '-', '--json'], JSON.stringify({instances}))
    expect(registered.exitCode).toBe(0)
    const ids = async (args: string[]) => (JSON.parse((await cli(['svc', 'list', ...args, '--json'])).stdout) as {id: string}[]).map((r) => r.id)
    const [canary, both, n2, warning, criticalN2, badStatus, stable, noneTagged] = await Promise.all([
      ids(['--tag', 'canary']), ids(['--tag', 'canary', '--tag', 'stable']), ids(['--node', 'n2']), ids(['--status', 'warning']), ids(['--status', 'critical', '--node', 'n2']),
      cli(['svc', 'list', '--status', 'down']), cli(['svc', 'resolve', 'api', '--tag', 'stable']), cli(['svc', 'resolve', 'api', '--tag', 'nope']),
    ])
    expect([canary, both, n2, warning, criticalN2]).toEqual([['api-1', 'api-3'], ['api-3'], ['api-2', 'api-3'], ['api-2'], ['api-3']])
    expect([badStatus.exitCode, badStatus.stderr]).toEqual([2, expect.stringMatching(/--status: "down" is not a status/)])
    expect(stable.stdout.trim()).toBe('10.1.0.2:8080')
    expect([noneTagged.exitCode, noneTagged.stderr]).toEqual([1, expect.stringMatching(/no instance with tag nope is registered/)])

    const show = JSON.parse((await cli(['svc', 'show', 'api-2', '--json'])).stdout)
    expect(show).toMatchObject({id: 'api-2', status: 'warning', node: 'n2', prober: 'register', checkDefinition: {type: 'tcp', address: '10.1.0.2:8080', intervalMs: 1000}, key: keys.service('default', 'api', 'api-2'), lease: null, maintenance: null})
    const human = await cli(['svc', 'show', 'api-2'])
    expect(human.stdout).toMatch(/status\s+warning/)
    expect((await cli(['svc', 'show', 'nope'])).exitCode).toBe(3)

    // Maintenance: critical, shown as such, out of resolve, kept by re-registering, until disabled.
    const on = await cli(['svc', 'maint', 'api-1', '--enable', '--reason', 'kernel upgrade', '--json'])
    expect(JSON.parse(on.stdout)).toMatchObject({action: 'enabled', maintenance: {reason: 'kernel upgrade'}})
    const index = await store.get(keys.nodeIndex('n1', 'default', 'api', 'api-1'))
    expect(JSON.parse(index!.value).maintenance).toMatchObject({reason: 'kernel upgrade'})
    expect(await ids(['--status', 'maintenance'])).toEqual(['api-1'])
    expect((await cli(['svc', 'list', '--status', 'maintenance'])).stdout).toMatch(/api-1.*maintenance.*kernel upgrade/)
    expect(JSON.parse((await cli(['svc', 'show', 'api-1', '--json'])).stdout)).toMatchObject({status: 'critical', maintenance: {reason: 'kernel upgrade'}})
    expect((await cli(['svc', 'resolve', 'api', '--tag', 'canary'])).exitCode).toBe(1)
    const reregistered = await cli(['svc', 'register', 'api', '--id', 'api-1', '--address', '10.1.0.1', '--port', '8080', '--tag', 'canary', '--node', 'n1', '--json'])
    expect(JSON.parse(reregistered.stdout)).toMatchObject({action: 'unchanged'})
    expect(await ids(['--status', 'maintenance'])).toEqual(['api-1'])
    expect(JSON.parse((await cli(['svc', 'maint', 'api-1', '--enable', '--reason', 'kernel upgrade', '--json'])).stdout)).toMatchObject({action: 'unchanged'})
    expect((await cli(['svc', 'maint', 'api-1'])).exitCode).toBe(2)
    expect(JSON.parse((await cli(['svc', 'maint', 'api-1', '--disable', '--json'])).stdout)).toMatchObject({action: 'disabled', maintenance: null})
    expect((await cli(['svc', 'resolve', 'api', '--tag', 'canary'])).stdout.trim()).toBe('10.1.0.1:8080')
  }, 60_000)
})
