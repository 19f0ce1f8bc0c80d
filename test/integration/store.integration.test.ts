import {execFileSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createServer as createHttpServer, type Server as HttpServer} from 'node:http'
import {createServer as createHttp2Server, type Http2Server} from 'node:http2'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {workerMemoryEnv} from '../../src/dns/worker-memory.js'
import type {EtcdStore} from '../../src/store/etcd-store.js'
import {MAX_REPLY_BYTES} from '../../src/store/etcd-errors.js'
import {openStore} from '../../src/store/index.js'
import type {Store} from '../../src/store/store.js'
import {cliEnv, runCli} from '../helpers/cli.js'
import {type EtcdMember, startEtcd} from '../helpers/etcd.js'
import {waitFor} from '../helpers/poll.js'
import {freePort} from '../helpers/ports.js'
import {uniquePrefixes} from '../helpers/shared-etcd.js'

/**
 * What only a real etcd shows: gRPC's 4 MB reply limit, a member restarting under a
 * watch, and what the CLI says to endpoints that are not a working etcd. The Store
 * contract itself (paging, transactions, leases, watches, compaction) runs against both
 * etcd and the MemoryStore in store-contract.integration.test.ts.
 */
describe('store against its own etcd member', () => {
  let member: EtcdMember
  let store: Store

  beforeAll(async () => {
    member = await startEtcd({name: 'own'})
    store = await openStore({endpoints: [member.endpoint], deadlineMs: 5000})
  })
  afterAll(async () => {
    await store?.close()
    await member?.destroy()
  })

  it(`reads a page too big for one ${MAX_REPLY_BYTES / 1024 / 1024} MB reply by asking again with half the limit`, async () => {
    const prefix = '/big/'
    // 900 KB values (etcd takes at most 1.5 MB in a request): a page of 20 is 18 MB, past the client's reply limit.
    const count = 22
    const value = (i: number) => `${i}`.padEnd(900_000, String.fromCharCode(97 + (i % 26)))
    for (let i = 0; i < count; i++) await store.put(`${prefix}${String(i).padStart(2, '0')}`, value(i))
    const etcd = store as EtcdStore
    const limits: number[] = []
    const range = etcd.client.kv.range.bind(etcd.client.kv)
    etcd.client.kv.range = ((request: {limit?: number}, ...rest: unknown[]) => {
      limits.push(Number(request.limit))
      return (range as (...args: unknown[]) => unknown)(request, ...rest)
    }) as typeof etcd.client.kv.range
    try {
      const listing = await store.list(prefix, {pageSize: 20})
      expect(listing.items.map((i) => i.key)).toEqual(Array.from({length: count}, (_, i) => `${prefix}${String(i).padStart(2, '0')}`))
      expect(listing.items.every((item, i) => item.value === value(i))).toBe(true)
      // 20 was refused; 10 fits; the pages go on at 10 (some of them empty, where a range ends at a subtree of keys).
      expect(limits[0]).toBe(20)
      expect(limits.slice(1)).toEqual(Array(limits.length - 1).fill(10))
      expect(limits.length).toBeGreaterThanOrEqual(4)
    } finally {
      etcd.client.kv.range = range
    }
    await store.deletePrefix(prefix)
  })

  // A worker that compiled the client in full would start no less correctly, only slower: nothing else would catch a build whose caches no longer match the workers' options.
  it('the built client loads from a code cache V8 takes, under the CLI\'s options and under dns serve\'s workers\'', () => {
    // A file of its own, so that the child's options are only what NODE_OPTIONS gives (node -e would be one more).
    const dir = mkdtempSync(join(tmpdir(), 'cnet-code-cache-'))
    try {
      const script = join(dir, 'load.mjs')
      writeFileSync(
        script,
        `const {loadWithCodeCache, nodeOptionsOf} = await import(${JSON.stringify(join(process.cwd(), 'dist/lib/code-cache.js'))})
        const r = loadWithCodeCache(${JSON.stringify(join(process.cwd(), 'dist/vendor/etcd3.cjs'))}, nodeOptionsOf(process))
        console.log(JSON.stringify({file: r.cacheFile.split('/').pop(), rejected: r.cacheRejected}))`,
      )
      const load = (nodeOptions: string) => JSON.parse(execFileSync(process.execPath, [script], {encoding: 'utf8', env: {...process.env, NODE_OPTIONS: nodeOptions}})) as {file: string; rejected: boolean}
      expect(load('')).toEqual({file: 'etcd3.v8-cache', rejected: false})
      const worker = load(workerMemoryEnv({}).NODE_OPTIONS!)
      expect(worker.file).toMatch(/^etcd3\.[0-9a-f]{8}\.v8-cache$/)
      expect(worker.rejected).toBe(false)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('reads a list\'s pages from the replies\' bytes through the built client (as the CLI runs it), as from its kvs', async () => {
    const prefix = '/bytes/'
    const lease = await store.grantLease(60)
    await store.put(`${prefix}a`, 'é one', {lease})
    await store.put(`${prefix}b`, '')
    await store.put(`${prefix}b`, 'two')
    // The built store, with the bundled client (dist/vendor/etcd3.cjs) that carries its own
    // copy of range-response.ts: the mark the store reads pages by must cross between them.
    const script = `
      const {openStore} = await import('./dist/store/index.js')
      const {rangePage, toStoredValue} = await import('./dist/store/range-response.js')
      const store = await openStore({endpoints: [process.argv[1]]})
      const reply = await store.client.kv.range({key: Buffer.from('${prefix}'), range_end: Buffer.from('/bytes0')})
      const marked = Object.getOwnPropertySymbols(reply).map(String)
      const page = rangePage(reply)
      const fromBytes = Array.from({length: page.length}, (_, i) => page.item(i))
      const kvsUnread = typeof Object.getOwnPropertyDescriptor(reply, 'kvs').get === 'function'
      console.log(JSON.stringify({marked, kvsUnread, fromBytes, fromKvs: reply.kvs.map(toStoredValue), listed: (await store.list('${prefix}')).items}))
      await store.close()`
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script, member.endpoint], {encoding: 'utf8'})) as Record<string, unknown>
    expect(out.marked).toEqual(['Symbol(cnet.store.rangeResponse.keyValueSpans)'])
    expect(out.kvsUnread).toBe(true)
    expect(out.fromBytes).toEqual(out.fromKvs)
    expect(out.fromBytes).toEqual([expect.objectContaining({key: `${prefix}a`, value: 'é one', version: 1, lease}), expect.objectContaining({key: `${prefix}b`, value: 'two', version: 2, lease: null})])
    expect(out.listed).toEqual(out.fromBytes)
    // the store the tests load (without the bundle) reads the same
    expect((await store.list(prefix)).items).toEqual(out.fromBytes)
    await store.revokeLease(lease)
    await store.deletePrefix(prefix)
  })

  it('lists a prefix of more than gRPC\'s default 4 MB in pages of the default size', async () => {
    const prefix = '/wide/'
    const value = 'v'.repeat(2000)
    for (let start = 0; start < 2500; start += 100) {
      await store.transaction(Array.from({length: 100}, (_, i) => ({type: 'put' as const, key: `${prefix}${String(start + i).padStart(5, '0')}`, value})))
    }
    const listing = await store.list(prefix)
    expect(listing.items).toHaveLength(2500)
    expect(listing.items.at(-1)?.key).toBe(`${prefix}02499`)
    await store.deletePrefix(prefix)
  })

  it('resumes a watch across a restart of the member with no lost and no repeated events', async () => {
    const prefix = '/restart/'
    const seen: string[] = []
    const listing = await store.list(prefix)
    const watch = await store.watchPrefix(prefix, listing.revision + 1, {onEvents: (e) => void seen.push(...e.map((x) => x.key)), onResync: () => {}})
    for (let i = 0; i < 5; i++) await store.put(`${prefix}${i}`, 'x')
    await waitFor('the first five events', () => seen.length >= 5, {timeoutMs: 5000})
    await member.stop()
    await member.start()
    await member.waitReady()
    // Write with another client while ours may still be reconnecting.
    for (let i = 5; i < 10; i++) execFileSync('etcdctl', ['--endpoints', member.endpoint, 'put', `${prefix}${i}`, 'x'])
    await waitFor('the events after the restart', () => seen.length >= 10, {timeoutMs: 15_000})
    // Nothing repeated arrives late: a repeat would come before an event written after it.
    execFileSync('etcdctl', ['--endpoints', member.endpoint, 'put', `${prefix}z`, 'x'])
    await waitFor('the marker event', () => seen.includes(`${prefix}z`), {timeoutMs: 15_000})
    expect(seen).toEqual([...Array.from({length: 10}, (_, i) => `${prefix}${i}`), `${prefix}z`])
    await watch.close()
  })

  it('fails a CLI call with exit 4 within the deadline when etcd is stopped', async () => {
    const prefixes = uniquePrefixes('down')
    await member.stop()
    try {
      const result = await runCli(['network', 'show', '--etcd-timeout', '2s'], {env: cliEnv(member.endpoint, prefixes)})
      expect(result.exitCode).toBe(4)
      expect(result.stderr).toContain(member.endpoint)
      expect(result.stderr.trim().split('\n')).toHaveLength(1)
      const store2 = await openStore({endpoints: [member.endpoint], deadlineMs: 1000})
      await expect(store2.get('/x')).rejects.toMatchObject({exitCode: 4})
      await store2.close()
    } finally {
      await member.start()
      await member.waitReady()
    }
  })

  it('exits 3 when given a user name for an etcd with authentication off', async () => {
    const result = await runCli(['network', 'show'], {env: {...cliEnv(member.endpoint, uniquePrefixes('auth')), CNET_ETCD_USERNAME: 'root', CNET_ETCD_PASSWORD: 'secret'}})
    expect(result.exitCode).toBe(3)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/authentication disabled, but a user name was given/)
    expect(result.stderr).toMatch(/--etcd-username/)
  })
})

describe('the CLI against endpoints that are not a working etcd', () => {
  let http2: Http2Server
  let http1: HttpServer
  let http2Endpoint: string
  let http1Endpoint: string

  beforeAll(async () => {
    // HTTP/2 (so gRPC gets as far as a reply) that answers 404 to everything, as a web server would.
    http2 = createHttp2Server()
    http2.on('stream', (stream) => {
      stream.respond({':status': 404, 'content-type': 'text/plain'})
      stream.end('not found')
    })
    http1 = createHttpServer((_request, response) => response.writeHead(404).end('not found'))
    await Promise.all([new Promise<void>((resolve) => http2.listen(0, '127.0.0.1', resolve)), new Promise<void>((resolve) => http1.listen(0, '127.0.0.1', resolve))])
    http2Endpoint = `http://127.0.0.1:${(http2.address() as AddressInfo).port}`
    http1Endpoint = `http://127.0.0.1:${(http1.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise((resolve) => http2?.close(resolve))
    http1?.closeAllConnections()
    await new Promise((resolve) => http1?.close(resolve))
  })

  const show = (endpoint: string) => runCli(['network', 'show', '--etcd-timeout', '2s'], {env: cliEnv(endpoint, uniquePrefixes('x'))})

  it('an HTTP/2 server that is not etcd: exit 4, naming the endpoint and what it answered', async () => {
    const result = await show(http2Endpoint)
    expect(result.exitCode).toBe(4)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toContain(`${http2Endpoint} answered HTTP 404`)
    expect(result.stderr).toContain('not an etcd v3 endpoint')
  })

  it("an HTTP/1 server: exit 4, it does not speak etcd's gRPC", async () => {
    const result = await show(http1Endpoint)
    expect(result.exitCode).toBe(4)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toContain(http1Endpoint)
    expect(result.stderr).toMatch(/does not speak etcd's gRPC|not an etcd v3 endpoint/)
  })

  it('a closed port: exit 4, unreachable, naming the endpoint', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`
    const result = await show(endpoint)
    expect(result.exitCode).toBe(4)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toContain(`etcd unreachable at ${endpoint}`)
  })
})
