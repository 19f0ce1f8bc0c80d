import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {type EtcdProtoJson, type MethodDefinition, jsonPathFor, loadSync, packageDefinition} from '../../src/store/etcd-proto-package.js'
import {type WireKeyValue, rangePage, toStoredValue} from '../../src/store/range-response.js'

/**
 * The bundled etcd client gets its gRPC service definitions from JSON made at build time
 * instead of from @grpc/proto-loader. It must hand grpc-js exactly what the loader would:
 * the same services, methods, paths and names, and the same bytes and objects through
 * every serializer. The reference here is the real loader with etcd3's own options.
 */
const require = createRequire(import.meta.url)
const protoLoader = require('@grpc/proto-loader') as {loadSync(file: string, options: object): Record<string, Record<string, MethodDefinition> | {format: string}>}
const PROTO_DIR = join(process.cwd(), 'node_modules/etcd3/proto')
const ETCD3_OPTIONS = {keepCase: true, longs: String, enums: String, defaults: true, oneofs: true}

describe('etcd service definitions from JSON made at build time', () => {
  let dir: string
  let json: EtcdProtoJson
  let mine: Record<string, Record<string, MethodDefinition>>
  let reference: Record<string, Record<string, MethodDefinition>>

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cnet-proto-'))
    execFileSync(process.execPath, ['scripts/etcd-proto-json.cjs', PROTO_DIR, join(dir, 'rpc.json')])
    json = JSON.parse(readFileSync(join(dir, 'rpc.json'), 'utf8')) as EtcdProtoJson
    mine = packageDefinition(json)
    const loaded = protoLoader.loadSync(join(PROTO_DIR, 'rpc.proto'), ETCD3_OPTIONS)
    reference = Object.fromEntries(Object.entries(loaded).filter(([, value]) => !('format' in value))) as typeof reference
  })
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  it('has every service and method of the loader, with its path, streaming and name', () => {
    expect(Object.keys(mine).sort()).toEqual(Object.keys(reference).sort())
    expect(Object.keys(mine)).toContain('etcdserverpb.KV')
    for (const [service, methods] of Object.entries(reference)) {
      expect(Object.keys(mine[service]!).sort()).toEqual(Object.keys(methods).sort())
      for (const [name, method] of Object.entries(methods)) {
        const {path, requestStream, responseStream, originalName} = mine[service]![name]!
        expect({path, requestStream, responseStream, originalName}).toEqual({path: method.path, requestStream: method.requestStream, responseStream: method.responseStream, originalName: method.originalName})
      }
    }
  })

  it('loadSync finds the JSON next to the .proto file etcd3 names', () => {
    expect(jsonPathFor('/x/dist/vendor/../proto/rpc.proto')).toBe('/x/dist/vendor/../proto/rpc.json')
    expect(Object.keys(loadSync(join(dir, 'rpc.proto')))).toEqual(Object.keys(mine))
    expect(() => loadSync(join(dir, 'channelz.proto'))).toThrow(/channelz\.json/)
  })

  const samples: [service: string, method: string, request: object, response: object][] = [
    ['etcdserverpb.KV', 'Range', {key: Buffer.from('/a'), range_end: Buffer.from('/b'), limit: 1000, revision: '42', sort_order: 'ASCEND'}, {header: {revision: '9007199254740993', member_id: '1'}, kvs: [{key: Buffer.from('/a/1'), value: Buffer.from('{"x":1}'), create_revision: '3', mod_revision: '7', version: '2', lease: '7587862072908135429'}], more: true, count: '12'}],
    ['etcdserverpb.KV', 'Txn', {compare: [{result: 'EQUAL', target: 'MOD', key: Buffer.from('/k'), mod_revision: '0'}], success: [{request_put: {key: Buffer.from('/k'), value: Buffer.from('v'), lease: '5'}}], failure: [{request_range: {key: Buffer.from('/k')}}]}, {succeeded: false, responses: [{response_range: {kvs: [], count: '0'}}]}],
    ['etcdserverpb.Lease', 'LeaseTimeToLive', {ID: '7587862072908135429', keys: false}, {ID: '7587862072908135429', TTL: '-1', grantedTTL: '86400', keys: []}],
    ['etcdserverpb.Watch', 'Watch', {create_request: {key: Buffer.from('/p'), range_end: Buffer.from('/q'), start_revision: '11', prev_kv: true}}, {watch_id: '3', created: false, compact_revision: '0', events: [{type: 'DELETE', kv: {key: Buffer.from('/p/1'), mod_revision: '12'}, prev_kv: {key: Buffer.from('/p/1'), value: Buffer.from('old')}}]}],
  ]

  it.each(samples)('%s/%s: serializers write the same bytes and readers return the same objects as the loader', (service, method, request, response) => {
    const a = mine[service]![method]!
    const b = reference[service]![method]!
    const requestBytes = b.requestSerialize(request)
    expect(a.requestSerialize(request)).toEqual(requestBytes)
    expect(a.requestDeserialize(requestBytes)).toEqual(b.requestDeserialize(requestBytes))
    const responseBytes = b.responseSerialize(response)
    expect(responseBytes.length).toBeGreaterThan(0)
    expect(a.responseSerialize(response)).toEqual(responseBytes)
    expect(a.responseDeserialize(responseBytes)).toEqual(b.responseDeserialize(responseBytes))
    // 64-bit numbers and enums come back as strings, defaults filled in: what etcd3 expects.
    expect(JSON.stringify(a.responseDeserialize(responseBytes))).not.toMatch(/"low":/)
  })

  // Range replies are read by hand (range-response.ts): whatever etcd can send must come out
  // as the loader would give it, and the Range sample above covers only one shape.
  const rangeReplies: [label: string, response: object][] = [
    ['empty', {}],
    ['no header, no kvs, count only', {count: '0', more: false}],
    ['every 64-bit edge', {header: {cluster_id: '18446744073709551615', member_id: '9223372036854775808', revision: '562949953421311', raft_term: '562949953421312'}, kvs: [{key: Buffer.from('k'), create_revision: '-1', mod_revision: '9223372036854775807', version: '127', lease: '-9223372036854775808'}, {key: Buffer.from('k2'), create_revision: '128', mod_revision: '16383', version: '16384', lease: '2097152'}], count: '4294967296'}],
    // Positive values of 50 to 63 bits are worked out in two doubles: every carry of the split at 10^8.
    ['positive wide values around every carry', {kvs: [2n ** 49n, 2n ** 49n - 1n, 2n ** 53n + 1n, 2n ** 62n - 1n, 2n ** 63n - 1n, 10n ** 18n, 10n ** 18n - 1n, 10n ** 16n + 99_999_999n, 2n ** 56n * 3n + 12_345n, 562_949_999_999_999n, 563_000_000_000_000n].map((v, i) => ({key: Buffer.from(`k${i}`), mod_revision: String(v), lease: String(v)}))}],
    ['empty values and keys', {header: {revision: '1'}, kvs: [{key: Buffer.alloc(0), value: Buffer.alloc(0)}, {value: Buffer.from('v')}], more: true}],
    // Negative values are remembered by their bits (range-response.ts): the same bits read as
    // int64 and uint64 differ, and more distinct values than the memory holds start it over.
    ['wide values, the same bits signed and unsigned, repeated and past the cache bound', {header: {cluster_id: '18446744073709551611', revision: '3'}, kvs: Array.from({length: 24_000}, (_, i) => ({key: Buffer.from(`k${i}`), lease: i < 3 ? '-5' : String(-(2n ** 62n) - BigInt(i % 2 ? i : 12_000 - (i >> 1)))})), count: '24000'}],
    ['a page of many', {header: {revision: '40000', member_id: '10276657743932975437', cluster_id: '14841639068965178418', raft_term: '2'}, kvs: Array.from({length: 300}, (_, i) => ({key: Buffer.from(`/cnet/services/default/svc${i}/i${i}`), value: Buffer.from(JSON.stringify({name: `svc${i}`, x: 'é'.repeat(i % 7)}).repeat(1 + (i % 50))), create_revision: String(3 + i), mod_revision: String(1000 + i * 977), version: String(1 + (i % 3)), lease: i % 2 ? '7587862072908135429' : '0'})), more: true, count: '100000'}],
  ]

  it.each(rangeReplies)('reads a Range reply by hand as the loader does: %s', (_label, response) => {
    const range = reference['etcdserverpb.KV']!.Range!
    const bytes = range.responseSerialize(response)
    expect(mine['etcdserverpb.KV']!.Range!.responseDeserialize(bytes)).toEqual(range.responseDeserialize(bytes))
  })

  // A list reads a page's items straight from the reply's bytes (rangePage), never making its kvs.
  it.each(rangeReplies)('gives a list the items of a Range reply from its bytes, as the store made them from kvs: %s', (_label, response) => {
    const range = reference['etcdserverpb.KV']!.Range!
    const bytes = range.responseSerialize(response)
    const expected = (range.responseDeserialize(bytes) as {kvs: WireKeyValue[]}).kvs
    const reply = mine['etcdserverpb.KV']!.Range!.responseDeserialize(bytes) as {kvs: WireKeyValue[]}
    const page = rangePage(reply)
    expect(page.length).toBe(expected.length)
    expect(Array.from({length: page.length}, (_, i) => page.item(i))).toEqual(expected.map(toStoredValue))
    // keys and values alone (each value where its bytes lie), for a reader that needs nothing else, from any part of the page
    const keyValues = (from: number, to: number) => {
      const seen: [string, string][] = []
      expect(page.forEachKeyValueBytes(from, to, (key, bytes, start, end) => seen.push([key, bytes.toString('utf8', start, end)]))).toBe(to - from)
      return seen
    }
    const all = expected.map((kv) => [kv.key.toString(), kv.value.toString()])
    expect(keyValues(0, page.length)).toEqual(all)
    expect(keyValues(1, Math.max(1, page.length - 1))).toEqual(all.slice(1, Math.max(1, page.length - 1)))
    expect(page.lastKey()).toEqual(expected.at(-1)?.key)
    // what the next page's limit is scaled from: the key-values' share of the reply, give or take their framing
    expect(page.bytes).toBeLessThanOrEqual(bytes.length + 4 * page.length)
    if (page.length > 0) expect(page.bytes).toBeGreaterThanOrEqual(expected.reduce((sum, kv) => sum + kv.key.length + kv.value.length, 0))
    // and its kvs were never made: the reply still has them to make on first read, as the loader's
    expect(Object.getOwnPropertyDescriptor(reply, 'kvs')?.get).toBeDefined()
    expect(reply.kvs).toEqual(expected)
    expect(Object.getOwnPropertyDescriptor(reply, 'kvs')?.get).toBeUndefined()
  })

  it('reads a page of a reply made elsewhere (a test\'s) from its kvs', () => {
    const kvs: WireKeyValue[] = [{key: Buffer.from('/p/a'), value: Buffer.from('v'), create_revision: '2', mod_revision: '3', version: '1', lease: '0'}]
    const page = rangePage({kvs})
    expect([page.length, page.bytes, page.lastKey()]).toEqual([1, 4 + 1 + 40, kvs[0]!.key])
    expect(page.item(0)).toEqual({key: '/p/a', value: 'v', createRevision: 2, modRevision: 3, version: 1, lease: null})
    const seen: string[] = []
    expect(page.forEachKeyValueBytes(0, 1, (key, bytes, start, end) => seen.push(key, bytes.toString('utf8', start, end)))).toBe(1)
    expect(seen).toEqual(['/p/a', 'v'])
  })

  it('skips fields it does not know in a Range reply, of every wire type and in a group, as protobufjs does', () => {
    const range = reference['etcdserverpb.KV']!.Range!
    const known = Buffer.from(range.responseSerialize({header: {revision: '5'}, kvs: [{key: Buffer.from('a'), value: Buffer.from('b'), mod_revision: '5'}], count: '1'}))
    // Field 15 as a varint, a fixed64, a length-delimited run and a fixed32, before and after.
    // And a group (field 15, start 0x7b ... end 0x7c) holding a varint.
    const unknown = Buffer.from([0x78, 0x96, 0x01, 0x79, 1, 2, 3, 4, 5, 6, 7, 8, 0x7a, 0x02, 0xff, 0xff, 0x7d, 1, 2, 3, 4, 0x7b, 0x08, 0x01, 0x7c])
    const bytes = Buffer.concat([unknown, known, unknown])
    expect(mine['etcdserverpb.KV']!.Range!.responseDeserialize(bytes)).toEqual(range.responseDeserialize(bytes))
  })

  it('reads tags and lengths written in five bytes, as protobufjs does', () => {
    const range = reference['etcdserverpb.KV']!.Range!
    // The tags, and the lengths of the key-value, its key and its value, padded to five bytes.
    const padded = (n: number) => [n | 0x80, 0x80, 0x80, 0x80, 0x00]
    const keyValue = [...padded(0x0a), ...padded(1), 0x61, 0x2a, ...padded(2), 0x62, 0x63]
    const bytes = Buffer.from([...padded(0x12), ...padded(keyValue.length), ...keyValue, 0x20, 0x01])
    const mineRead = mine['etcdserverpb.KV']!.Range!.responseDeserialize(bytes)
    expect(mineRead).toEqual(range.responseDeserialize(bytes))
    expect(mineRead).toMatchObject({kvs: [{key: Buffer.from('a'), value: Buffer.from('bc')}], count: '1'})
    const seen: string[] = []
    rangePage(mineRead as {kvs: WireKeyValue[]}).forEachKeyValueBytes(0, 1, (key, value, start, end) => seen.push(key, value.toString('utf8', start, end)))
    expect(seen).toEqual(['a', 'bc'])
  })

  it('reads more as a 32-bit bool, as protobufjs does', () => {
    const range = reference['etcdserverpb.KV']!.Range!
    for (const bytes of [Buffer.from([0x18, 0x80, 0x80, 0x80, 0x80, 0x10]), Buffer.from([0x18, 0x01]), Buffer.from([0x18, 0x00])]) {
      expect(mine['etcdserverpb.KV']!.Range!.responseDeserialize(bytes)).toEqual(range.responseDeserialize(bytes))
    }
  })

  it('refuses a truncated Range reply instead of reading past it', () => {
    const range = reference['etcdserverpb.KV']!.Range!
    const bytes = Buffer.from(range.responseSerialize({kvs: [{key: Buffer.from('abc'), value: Buffer.from('value')}]}))
    for (const cut of [1, 3, bytes.length - 1]) expect(() => mine['etcdserverpb.KV']!.Range!.responseDeserialize(bytes.subarray(0, cut))).toThrow(RangeError)
  })

  it('is what the built etcd client uses: the bundle has no .proto parser and the JSON is beside the .proto files', () => {
    const bundle = readFileSync('dist/vendor/etcd3.cjs', 'utf8')
    expect(bundle).not.toMatch(/loadProtosWithOptionsSync|FileDescriptorProto/)
    expect(bundle).toMatch(/rpc\.proto/)
    expect((JSON.parse(readFileSync('dist/proto/rpc.json', 'utf8')) as EtcdProtoJson).services).toEqual(json.services)
  })

  it('refuses an array where a message belongs, as the loader does', () => {
    expect(() => mine['etcdserverpb.KV']!.Range!.requestSerialize([] as unknown as object)).toThrow(/expected object with RangeRequest structure/)
  })
})
