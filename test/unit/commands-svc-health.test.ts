import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, beforeEach, describe, expect, it} from '@jest/globals'
import {Keys} from '../../src/store/keys.js'
import {MemoryStore} from '../helpers/memory-store.js'
import {memoryStorePerTest} from '../helpers/memory-store-per-test.js'
import {type InProcessOptions, runCommandInProcess} from '../helpers/run-command-in-process.js'

// The svc and health commands run in-process on a MemoryStore: what they print, their
// exit codes, and what they leave in the store.

const keys = new Keys({})
const dir = mkdtempSync(join(tmpdir(), 'cnet-commands-svc-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const newStore = memoryStorePerTest()
let store: MemoryStore
beforeEach(() => {
  store = newStore()
})

// round-robin keeps its position under $XDG_STATE_HOME: the test's own directory.
const cnet = (argv: string[], options: InProcessOptions = {}) => runCommandInProcess(argv, {store, env: {XDG_STATE_HOME: dir}, ...options})
const json = <T = Record<string, unknown>>(stdout: string) => JSON.parse(stdout) as T
const stored = async (key: string) => {
  const value = await store.get(key)
  return value && (JSON.parse(value.value) as Record<string, unknown>)
}
const file = (name: string, content: unknown) => {
  const path = join(dir, name)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  return path
}

async function expectRefused(argv: string[], exitCode: number, message: RegExp): Promise<void> {
  const before = store.currentRevision
  const result = await cnet(argv)
  expect(result.stderr).toMatch(message)
  expect(result.stderr).toMatch(/^cnet: [^\n]*\n$/)
  expect(result.exitCode).toBe(exitCode)
  expect(store.currentRevision).toBe(before)
}

const register = (name: string, address: string, ...more: string[]) => cnet(['svc', 'register', name, '--address', address, '--port', '8080', '--node', 'host-a', ...more])

describe('svc register and deregister', () => {
  it('registers an instance with its check and index entry; the same again writes nothing; a change updates it', async () => {
    const first = await register('web', '10.5.52.7', '--id', 'web-1', '--check-http', 'http://10.5.52.7:8080/health', '--interval', '5s', '--tag', 'v1', '--meta', 'team=a')
    expect(first).toEqual({stdout: 'registered web-1 (web.default) at 10.5.52.7:8080, check http every 5s\n', stderr: '', exitCode: 0})
    expect(await stored(keys.service('default', 'web', 'web-1'))).toMatchObject({
      id: 'web-1', name: 'web', namespace: 'default', address: '10.5.52.7', port: 8080, tags: ['v1'], meta: {team: 'a'}, node: 'host-a',
      check: {type: 'http', url: 'http://10.5.52.7:8080/health', intervalMs: 5000},
    })
    expect(await store.get(keys.nodeIndex('host-a', 'default', 'web', 'web-1'))).not.toBeNull()
    const revision = store.currentRevision
    const again = await register('web', '10.5.52.7', '--id', 'web-1', '--check-http', 'http://10.5.52.7:8080/health', '--interval', '5s', '--tag', 'v1', '--meta', 'team=a', '--json')
    expect(json(again.stdout)).toMatchObject({id: 'web-1', action: 'unchanged'})
    expect(store.currentRevision).toBe(revision)
    const moved = await register('web', '10.5.52.8', '--id', 'web-1')
    expect(moved.stdout).toBe('updated web-1 (web.default) at 10.5.52.8:8080, no check\n')
    expect(await stored(keys.service('default', 'web', 'web-1'))).toMatchObject({address: '10.5.52.8'})
  })

  it('an initial status is written as the health record until the first probe', async () => {
    const result = await register('db', '10.5.52.9', '--check-tcp', '10.5.52.9:5432', '--initial-status', 'passing')
    expect(result.stdout).toBe('registered db (db.default) at 10.5.52.9:8080, check tcp every 10s, passing until its first result\n')
    expect(await stored(keys.health('default', 'db', 'db'))).toMatchObject({status: 'passing'})
  })

  it.each([
    [['svc', 'register', '--address', '10.5.52.7', '--port', '80'], /NAME: required \(or give --file\)/],
    [['svc', 'register', 'web', '--port', '80'], /--address: required/],
    [['svc', 'register', 'web', '--address', '10.5.52.7'], /--port: required/],
    [['svc', 'register', 'web', '--address', 'nope', '--port', '80'], /--address: "nope"/],
    [['svc', 'register', 'web', '--address', '10.5.52.7', '--port', '70000'], /--port/],
    [['svc', 'register', 'Web_1', '--address', '10.5.52.7', '--port', '80'], /NAME: "Web_1"/],
    [['svc', 'register', 'web', '--address', '10.5.52.7', '--port', '80', '--weight', '0'], /--weight/],
    [['svc', 'register', 'web', '--address', '10.5.52.7', '--port', '80', '--meta', 'novalue'], /--meta/],
    [['svc', 'register', 'web', '--address', '10.5.52.7', '--port', '80', '--check-http', 'http://x/', '--interval', '1ms'], /--interval/],
    [['svc', 'register', 'web', '--address', '10.5.52.7', '--port', '80', '--check-tcp', 'x:1', '--failures-before-critical', '-1'], /--failures-before-critical/],
    [['svc', 'register', 'web', '--address', '10.5.52.7', '--port', '80', '--lease-ttl', '10ms'], /--lease-ttl/],
    [['svc', 'register', 'web', '--address', '10.5.52.7', '--port', '80', '--initial-status', 'fine'], /--initial-status/],
    [['svc', 'register', 'web', '--address', '10.5.52.7', '--port', '80', '--protocol', 'sctp'], /--protocol/],
    [['svc', 'register', 'web', '--file', '/dev/null'], /NAME: not with --file/],
    [['svc', 'register', '--file', '/nonexistent.json'], /--file: cannot read \/nonexistent\.json: ENOENT/],
  ])('%j is refused (exit 2) and writes nothing', async (argv, message) => {
    await expectRefused(argv, 2, message)
  })

  it('registers every instance of a definition file (Consul\'s format), checking them all before writing any', async () => {
    const consul = file('consul.json', {
      services: [
        {name: 'web', id: 'web-1', address: '10.5.52.7', port: 80, tags: ['a'], check: {http: 'http://10.5.52.7/health', interval: '5s'}},
        {name: 'web', id: 'web-2', address: '10.5.52.8', port: 80},
      ],
    })
    const result = await cnet(['svc', 'register', '--file', consul, '--node', 'host-a'])
    expect(result.exitCode).toBe(0)
    const lines = result.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^NAMESPACE\s+NAME\s+ID\s+NODE\s+ACTION\s+HEALTH$/)
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 5))).toEqual([
      ['default', 'web', 'web-1', 'host-a', 'created'],
      ['default', 'web', 'web-2', 'host-a', 'created'],
    ])
    expect((await store.list(keys.servicesPrefix())).items).toHaveLength(2)

    const bad = file('bad.json', {services: [{name: 'web', id: 'web-3', address: '10.5.52.9', port: 80}, {name: 'web', id: 'web-4', address: '10.5.52.9', port: 'x'}]})
    await expectRefused(['svc', 'register', '--file', bad], 2, /services\[1\]\.port/)
    await expectRefused(['svc', 'register', '--file', consul, '--address', '10.5.52.7'], 2, /--address: not with --file/)
    await expectRefused(['svc', 'register', '--file', file('notjson.json', '{')], 2, /--file: not JSON/)

    const removed = await cnet(['svc', 'deregister', '--file', consul, '--json'])
    expect(json<{id: string; action: string}[]>(removed.stdout).map((r) => [r.id, r.action])).toEqual([['web-1', 'removed'], ['web-2', 'removed']])
    expect((await store.list(keys.servicesPrefix())).items).toHaveLength(0)
    const twice = await cnet(['svc', 'deregister', '--file', consul])
    expect(twice.exitCode).toBe(0)
    expect(twice.stdout).toMatch(/web-1\s+absent/)
  })

  it('registers cnet\'s own definition format, namespaces included', async () => {
    const path = file('cnet.json', {instances: [{name: 'cache', id: 'cache-1', namespace: 'prod', address: '10.5.52.10', port: 6379, check: {tcp: '10.5.52.10:6379'}}]})
    const result = await cnet(['svc', 'register', '--file', path, '--node', 'host-b', '--json'])
    expect(result.exitCode).toBe(0)
    expect(json<{id: string; namespace: string; action: string}[]>(result.stdout)).toMatchObject([{id: 'cache-1', namespace: 'prod', action: 'created'}])
    expect(await stored(keys.service('prod', 'cache', 'cache-1'))).toMatchObject({node: 'host-b', check: {type: 'tcp'}})
  })

  it('deregisters one instance and its health record; an unknown one is a config error', async () => {
    await register('db', '10.5.52.9', '--check-tcp', '10.5.52.9:5432', '--initial-status', 'passing')
    const result = await cnet(['svc', 'deregister', 'db'])
    expect(result).toEqual({stdout: 'deregistered db (db.default) and its health record\n', stderr: '', exitCode: 0})
    expect(await store.get(keys.service('default', 'db', 'db'))).toBeNull()
    expect(await store.get(keys.health('default', 'db', 'db'))).toBeNull()
    await expectRefused(['svc', 'deregister', 'db'], 3, /db/)
    await expectRefused(['svc', 'deregister'], 2, /ID: required \(or give --file\)/)
    await expectRefused(['svc', 'deregister', 'db', '--file', '/dev/null'], 2, /ID: not with --file/)
    await expectRefused(['svc', 'deregister', 'x', '--namespace', 'No'], 2, /--namespace: "No"/)
  })

  it('with the store unreachable, register exits 4 and the error names the endpoint setting', async () => {
    const result = await cnet(['svc', 'register', 'web', '--address', '10.5.52.7', '--port', '80', '--json'], {down: true})
    expect(result.exitCode).toBe(4)
    expect(json(result.stdout)).toMatchObject({error: {code: 'StoreUnavailableError', exitCode: 4}})
    expect(store.currentRevision).toBe(1)
  })
})

describe('svc list, show, resolve and maint', () => {
  beforeEach(async () => {
    await register('web', '10.5.52.7', '--id', 'web-1', '--check-tcp', '10.5.52.7:8080', '--initial-status', 'passing', '--tag', 'canary')
    await register('web', '10.5.52.10', '--id', 'web-2', '--check-tcp', '10.5.52.10:8080', '--initial-status', 'warning')
    await register('web', '10.5.52.8', '--id', 'web-3', '--check-ttl', '30s')
    await register('db', '10.5.60.1', '--id', 'db-1', '--namespace', 'prod')
  })

  it('lists instances sorted by namespace, name and address, with their status', async () => {
    const result = await cnet(['svc', 'list'])
    expect(result.exitCode).toBe(0)
    const rows = result.stdout.trimEnd().split('\n').map((l) => l.split(/\s+/))
    expect(rows[0]).toEqual(['NAMESPACE', 'NAME', 'ID', 'ADDRESS', 'CHECK', 'STATUS', 'OUTPUT'])
    expect(rows.slice(1).map((r) => [r[0], r[2], r[3]])).toEqual([
      ['default', 'web-1', '10.5.52.7:8080'],
      ['default', 'web-3', '10.5.52.8:8080'],
      ['default', 'web-2', '10.5.52.10:8080'],
      ['prod', 'db-1', '10.5.60.1:8080'],
    ])
    expect(result.stdout).toMatch(/web-3\s.*critical/)
  })

  it.each([
    [['--namespace', 'prod'], ['db-1']],
    [['web', '--passing'], ['web-1']],
    [['--tag', 'canary'], ['web-1']],
    [['--status', 'critical'], ['web-3']],
    [['--status', 'passing'], ['web-1', 'db-1']],
    [['--status', 'warning'], ['web-2']],
    [['--node', 'host-b'], []],
  ])('svc list %j gives %j', async (flags, ids) => {
    const result = await cnet(['svc', 'list', ...flags, '--json'])
    expect(result.exitCode).toBe(0)
    expect(json<{id: string}[]>(result.stdout).map((r) => r.id)).toEqual(ids)
  })

  it('svc list --wide adds the node and tags; an empty result says so on stderr', async () => {
    const wide = await cnet(['svc', 'list', 'web', '--wide'])
    expect(wide.stdout.split('\n')[0]).toMatch(/NODE.*TAGS/)
    expect(wide.stdout).toMatch(/web-1\s.*host-a\s.*canary/)
    expect(await cnet(['svc', 'list', 'nothing'])).toEqual({stdout: '', stderr: 'no service instances\n', exitCode: 0})
  })

  it.each([
    [['svc', 'list', '--status', 'fine'], /--status: "fine" is not a status/],
    [['svc', 'list', '--tag', ''], /--tag/],
    [['svc', 'list', 'Bad_Name'], /NAME: "Bad_Name"/],
    [['svc', 'resolve', 'web', '--strategy', 'hash'], /--key: required with --strategy hash/],
    [['svc', 'resolve', 'web', '--key', 'k'], /--key: only with --strategy hash/],
    [['svc', 'resolve', 'web', '--count', '0'], /--count/],
    [['svc', 'resolve', 'web', '--strategy', 'best'], /--strategy/],
    [['svc', 'show', 'web_1'], /ID: "web_1"/],
    [['svc', 'maint', 'web-1'], /give --enable or --disable/],
    [['svc', 'maint', 'web-1', '--disable', '--reason', 'x'], /--reason: only with --enable/],
    [['svc', 'maint', 'web-1', '--enable', '--reason', ' '], /--reason: give 1 to 1024 characters/],
    [['svc', 'maint', 'web-1', '--enable', '--disable'], /--disable|--enable/],
  ])('%j is refused (exit 2) and writes nothing', async (argv, message) => {
    await expectRefused(argv, 2, message)
  })

  it('shows one instance as a record and as JSON', async () => {
    const human = await cnet(['svc', 'show', 'web-1'])
    expect(human.exitCode).toBe(0)
    expect(human.stdout).toMatch(/^id\s+web-1$/m)
    expect(human.stdout).toMatch(/^service\s+web\.default$/m)
    expect(human.stdout).toMatch(/^status\s+passing$/m)
    expect(human.stdout).toMatch(/^check\s+\{"type":"tcp","address":"10\.5\.52\.7:8080"/m)
    const machine = json((await cnet(['svc', 'show', 'web-3', '--json'])).stdout)
    expect(machine).toMatchObject({id: 'web-3', status: 'critical', checkDefinition: {type: 'ttl', ttlMs: 30_000}})
    await expectRefused(['svc', 'show', 'web-9'], 3, /web-9/)
  })

  it('resolves healthy instances: one HOST:PORT a line, round-robin moving on, hash stable, --wide a table', async () => {
    const picks = []
    for (let i = 0; i < 2; i++) picks.push((await cnet(['svc', 'resolve', 'web'])).stdout)
    expect(picks.sort()).toEqual(['10.5.52.10:8080\n', '10.5.52.7:8080\n'])
    expect((await cnet(['svc', 'resolve', 'web', '--passing', '--count', '5'])).stdout).toBe('10.5.52.7:8080\n')
    const hashed = await cnet(['svc', 'resolve', 'web', '--strategy', 'hash', '--key', 'user-42'])
    expect((await cnet(['svc', 'resolve', 'web', '--strategy', 'hash', '--key', 'user-42'])).stdout).toBe(hashed.stdout)
    const wide = await cnet(['svc', 'resolve', 'web', '--tag', 'canary', '--wide'])
    expect(wide.stdout).toMatch(/^ADDRESS\s+ID\s+STATUS\s+WEIGHT\s+NODE\s+TAGS\n10\.5\.52\.7:8080\s+web-1\s+passing\s+1\s+host-a\s+canary\n$/)
    expect(await cnet(['svc', 'resolve', 'db'])).toEqual({stdout: '', stderr: 'cnet: svc: db.default: no instance is registered (see cnet svc list)\n', exitCode: 1})
  })

  it('maintenance takes an instance out of resolve and list shows it; --disable brings it back', async () => {
    const on = await cnet(['svc', 'maint', 'web-1', '--enable', '--reason', 'kernel upgrade'])
    expect(on).toEqual({stdout: 'web-1 (web.default) is in maintenance: kernel upgrade\n', stderr: '', exitCode: 0})
    expect(await stored(keys.service('default', 'web', 'web-1'))).toMatchObject({maintenance: {reason: 'kernel upgrade'}})
    expect(await cnet(['svc', 'resolve', 'web', '--passing'])).toEqual({stdout: '', stderr: 'cnet: svc: web.default: none of its 3 instance(s) is healthy (see cnet svc list)\n', exitCode: 1})
    expect((await cnet(['svc', 'list', 'web'])).stdout).toMatch(/web-1\s.*maintenance\s+maintenance: kernel upgrade/)
    expect((await cnet(['svc', 'show', 'web-1'])).stdout).toMatch(/^maintenance\s+kernel upgrade \(since /m)
    expect((await cnet(['svc', 'maint', 'web-1', '--enable'])).stdout).toMatch(/stays in maintenance: Maintenance mode is enabled/)
    expect((await cnet(['svc', 'maint', 'web-1', '--disable'])).stdout).toBe('web-1 (web.default) is out of maintenance\n')
    expect((await cnet(['svc', 'maint', 'web-1', '--disable', '--json'])).stdout).toMatch(/"action": "unchanged"/)
    expect((await cnet(['svc', 'resolve', 'web', '--passing'])).stdout).toBe('10.5.52.7:8080\n')
  })
})

describe('health pass, warn, fail', () => {
  beforeEach(async () => {
    await register('batch', '10.5.52.20', '--check-ttl', '30s')
  })

  it.each([
    ['pass', 'passing'],
    ['warn', 'warning'],
    ['fail', 'critical'],
  ])('health %s writes %s under a lease of the check TTL', async (verb, status) => {
    const result = await cnet(['health', verb, 'batch', '--note', 'run 42'])
    expect(result).toEqual({stdout: `batch is ${status}: its TTL check turns critical in 30s unless updated again\n`, stderr: '', exitCode: 0})
    const record = await store.get(keys.health('default', 'batch', 'batch'))
    expect(JSON.parse(record!.value)).toMatchObject({status, output: 'run 42'})
    expect(store.leases().get(record!.lease!)?.ttlSeconds).toBe(30)
  })

  it.each([
    [['health', 'pass', 'nobody'], 3, /nobody/],
    [['health', 'pass', 'Bad_Id'], 2, /ID: "Bad_Id"/],
    [['health', 'warn', 'batch', '--namespace', 'X'], 2, /--namespace: "X"/],
    [['health', 'fail'], 2, /Missing 1 required arg/],
  ])('%j exits %i and writes nothing', async (argv, exitCode, message) => {
    await expectRefused(argv, exitCode, message)
  })

  it('a check that is not a TTL check cannot be set by hand', async () => {
    await register('web', '10.5.52.7', '--check-tcp', '10.5.52.7:80')
    await expectRefused(['health', 'pass', 'web'], 2, /TTL/)
  })

  it('health pass with the store unreachable exits 4', async () => {
    const result = await cnet(['health', 'pass', 'batch'], {down: true})
    expect(result.exitCode).toBe(4)
    expect(result.stderr).toMatch(/^cnet: store\/memory: store unreachable/)
  })
})

describe('health check', () => {
  let server: Server
  let port: number
  beforeAll(async () => {
    server = createServer((socket) => socket.end())
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as {port: number}).port
  })
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
  })

  it.each([
    [['--exec', 'true'], 0, 'passing'],
    [['--exec', 'sh -c "exit 1"'], 1, 'warning'],
    [['--exec', 'sh -c "exit 2"'], 2, 'critical'],
  ])('%j exits %i (%s)', async (flags, exitCode, status) => {
    const human = await cnet(['health', 'check', ...flags], {store: undefined})
    expect(human.exitCode).toBe(exitCode)
    expect(human.stdout).toMatch(new RegExp(`^${status}: `))
    const machine = await cnet(['health', 'check', ...flags, '--json'], {store: undefined})
    expect(machine.exitCode).toBe(exitCode)
    expect(json(machine.stdout)).toMatchObject({status})
  })

  it('a TCP check passes on a listening port', async () => {
    const result = await cnet(['health', 'check', '--tcp', `127.0.0.1:${port}`, '--json'], {store: undefined})
    expect(result.exitCode).toBe(0)
    expect(json(result.stdout)).toMatchObject({status: 'passing'})
  })

  it.each([
    [[], /give one of --http, --tcp or --exec/],
    [['--tcp', 'nope'], /--tcp/],
    [['--http', 'ftp://x/'], /--http/],
    [['--exec', 'true', '--timeout', 'soon'], /--timeout/],
  ])('%j is a usage error', async (flags, message) => {
    const result = await cnet(['health', 'check', ...flags], {store: undefined})
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toMatch(message)
    expect(result.stdout).toBe('')
  })
})
