import dgram from 'node:dgram'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import * as packet from 'dns-packet'
import {runDnsServer} from '../../src/dns/server.js'
import {ConfigError, InvalidValueError} from '../../src/lib/errors.js'
import {createLogger} from '../../src/lib/log.js'
import {Keys} from '../../src/store/keys.js'
import {question, registration} from '../helpers/dns-fixtures.js'
import {MemoryStore} from '../helpers/memory-store.js'
import {startFakeUpstream, type FakeUpstream} from '../helpers/fake-upstream.js'

/** The whole server in this process, on loopback sockets, fed by a fake store. */
const keys = new Keys({cnetPrefix: '/u/cnet', networkPrefix: '/u/net'})
const dir = mkdtempSync(join(tmpdir(), 'cnd-server-'))
const config = join(dir, 'dns.json')
const logLines: string[] = []
const logger = createLogger({level: 'debug', format: 'json', sink: (line) => logLines.push(line)})
afterAll(() => rmSync(dir, {recursive: true, force: true}))

async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

async function udpAsk(port: number, name: string, type = 'A'): Promise<packet.DecodedPacket & {rcode: string}> {
  const socket = dgram.createSocket('udp4')
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer for ${name}`)), 2000)
      socket.on('message', (message) => {
        clearTimeout(timer)
        resolve(packet.decode(message) as packet.DecodedPacket & {rcode: string})
      })
      socket.send(question(name, type), port, '127.0.0.1')
    })
  } finally {
    socket.close()
  }
}

async function tcpAsk(port: number, name: string): Promise<packet.DecodedPacket> {
  const socket = net.connect(port, '127.0.0.1')
  const request = question(name, 'A')
  const length = Buffer.alloc(2)
  length.writeUInt16BE(request.length)
  socket.write(Buffer.concat([length, request]))
  let data = Buffer.alloc(0)
  for await (const chunk of socket) {
    data = Buffer.concat([data, chunk as Buffer])
    if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) break
  }
  socket.destroy()
  return packet.decode(data.subarray(2))
}

const data = (reply: packet.DecodedPacket) => (reply.answers ?? []).map((a) => (a as {data: string}).data)

describe('runDnsServer in one process', () => {
  const store = new MemoryStore()
  const stop = new AbortController()
  let running: Promise<void>
  let upstream: FakeUpstream
  let port: number
  let http: {health: number; ready: number; metrics: number}

  beforeAll(async () => {
    upstream = await startFakeUpstream('198.51.100.7')
    await store.put(keys.service('default', 'web', 'w1'), JSON.stringify(registration('w1', '10.1.0.1', {tags: ['canary']})))
    await store.put(keys.service('default', 'web', 'w2'), JSON.stringify(registration('w2', '10.1.0.2')))
    await store.put(keys.networkConfig(), JSON.stringify({Network: '10.5.0.0/16'}))
    port = await freePort()
    http = {health: await freePort(), ready: await freePort(), metrics: await freePort()}
    writeFileSync(config, JSON.stringify({upstream: `127.0.0.1:${upstream.port}`, hosts: {'gw.corp.example': ['192.0.2.1']}, 'log-queries': true, workers: 1}))
    const commandLine = {listen: [`127.0.0.1:${port}`], health: `127.0.0.1:${http.health}`, ready: `127.0.0.1:${http.ready}`, metrics: `127.0.0.1:${http.metrics}`}
    running = runDnsServer(async () => store, keys, logger, {commandLine, configPath: config, logFormat: 'json'}, stop.signal)
    for (let i = 0; i < 200 && !logLines.some((l) => l.includes('serving DNS')); i++) await new Promise((r) => setTimeout(r, 10))
  })

  afterAll(async () => {
    stop.abort()
    await running
    await upstream.close()
  })

  it('answers the zone over UDP and TCP, hosts entries, and forwards the rest', async () => {
    expect(data(await udpAsk(port, 'web.default.svc.cluster.local')).sort()).toEqual(['10.1.0.1', '10.1.0.2'])
    expect(data(await udpAsk(port, 'canary._tag.web.default.svc.cluster.local'))).toEqual(['10.1.0.1'])
    expect(data(await tcpAsk(port, 'web.default.svc.cluster.local')).sort()).toEqual(['10.1.0.1', '10.1.0.2'])
    expect(data(await udpAsk(port, 'gw.corp.example'))).toEqual(['192.0.2.1'])
    expect(data(await udpAsk(port, 'app.example.test'))).toEqual(['198.51.100.7'])
    expect(data(await udpAsk(port, 'ns.dns.cluster.local'))).toEqual(['127.0.0.1'])
  })

  it('logs queries as JSON fields', () => {
    const query = logLines.map((l) => JSON.parse(l)).find((r) => r.msg === 'query' && r.name === 'gw.corp.example.')
    expect(query).toMatchObject({component: 'dns/query', type: 'A', class: 'IN', proto: 'udp', rcode: 'NOERROR', flags: 'qr,aa,rd'})
  })

  it('follows the store: a new instance is answered', async () => {
    await store.put(keys.service('default', 'web', 'w3'), JSON.stringify(registration('w3', '10.1.0.3')))
    await store.idle()
    expect(data(await udpAsk(port, 'web.default.svc.cluster.local')).sort()).toEqual(['10.1.0.1', '10.1.0.2', '10.1.0.3'])
  })

  it('serves /health, /ready and /metrics', async () => {
    expect((await fetch(`http://127.0.0.1:${http.health}/health`)).status).toBe(200)
    expect((await fetch(`http://127.0.0.1:${http.ready}/ready`)).status).toBe(200)
    store.setDown(true)
    const notReady = await fetch(`http://127.0.0.1:${http.ready}/ready`)
    expect(notReady.status).toBe(503)
    expect(await notReady.text()).toMatch(/etcd unreachable/)
    store.setDown(false)
    const text = await (await fetch(`http://127.0.0.1:${http.metrics}/metrics`)).text()
    expect(text).toMatch(/cnet_dns_requests_total\{server="dns:\/\/127\.0\.0\.1:\d+",zone="cluster\.local",proto="udp",family="1",type="A"\} \d+/)
    expect(text).toMatch(/cnet_dns_requests_total\{[^}]*zone="\."[^}]*\} 2/) // the hosts entry and the forwarded name
    expect(text).toMatch(/cnet_dns_forward_requests_total\{to="127\.0\.0\.1:\d+"\} 1/)
    expect(text).toMatch(/cnet_build_info\{version="[^"]+"/)
    expect(text).toMatch(/^process_resident_memory_bytes /m)
    expect(text).toMatch(/^nodejs_heap_size_used_bytes /m)
  })

  it('reloads a good config on SIGHUP without closing a socket, and keeps the running one when the file is bad', async () => {
    writeFileSync(config, JSON.stringify({upstream: `127.0.0.1:${upstream.port}`, hosts: {'gw.corp.example': ['192.0.2.2']}, zone: 'cluster.test', listen: '127.0.0.1:1', workers: 2}))
    process.emit('SIGHUP', 'SIGHUP')
    for (let i = 0; i < 100 && !logLines.some((l) => l.includes('config reloaded')); i++) await new Promise((r) => setTimeout(r, 10))
    expect(data(await udpAsk(port, 'gw.corp.example'))).toEqual(['192.0.2.2'])
    expect(data(await udpAsk(port, 'web.default.svc.cluster.test')).sort()).toEqual(['10.1.0.1', '10.1.0.2', '10.1.0.3'])
    // the command line's listen address wins over the file's; workers changes only with a restart
    expect(logLines.filter((l) => l.includes('change only with a restart')).map((l) => JSON.parse(l).settings)).toEqual([['workers']])

    const before = logLines.length
    writeFileSync(config, '{"upstream": ')
    process.emit('SIGHUP', 'SIGHUP')
    for (let i = 0; i < 100 && logLines.length === before; i++) await new Promise((r) => setTimeout(r, 10))
    await new Promise((r) => setTimeout(r, 50))
    const records = logLines.slice(before).map((l) => JSON.parse(l))
    expect(records).toHaveLength(1) // one record says why
    expect(records[0]).toMatchObject({level: 'error', msg: 'reload failed: keeping the running config'})
    expect(records[0].error).toMatch(/dns\.json: not valid JSON/)
    expect(data(await udpAsk(port, 'gw.corp.example'))).toEqual(['192.0.2.2'])
    const text = await (await fetch(`http://127.0.0.1:${http.metrics}/metrics`)).text()
    expect(text).toContain('cnet_dns_reloads_total{result="ok"} 1')
    expect(text).toContain('cnet_dns_reloads_total{result="failed"} 1')
  })
})

describe('runDnsServer refuses to start', () => {
  const never = async () => {
    throw new Error('the store must not be opened for a bad config')
  }
  it('with a bad file (ConfigError naming it) or a bad setting (InvalidValueError naming the field)', async () => {
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, JSON.stringify({ttl: 'soon'}))
    const stop = new AbortController()
    await expect(runDnsServer(never, keys, logger, {commandLine: {}, configPath: bad, logFormat: 'text'}, stop.signal)).rejects.toThrow(ConfigError)
    await expect(runDnsServer(never, keys, logger, {commandLine: {listen: ['nowhere']}, logFormat: 'text'}, stop.signal)).rejects.toThrow(InvalidValueError)
  })

  it('on an address in use, in one line', async () => {
    const taken = dgram.createSocket('udp4')
    await new Promise<void>((resolve) => taken.bind(0, '127.0.0.1', () => resolve()))
    const stop = new AbortController()
    const store = new MemoryStore()
    try {
      await expect(runDnsServer(async () => store, keys, logger, {commandLine: {listen: [`127.0.0.1:${taken.address().port}`], workers: 1, upstream: ['127.0.0.1:9']}, logFormat: 'text'}, stop.signal)).rejects.toThrow(/dns: cannot listen on 127\.0\.0\.1:\d+: address already in use/)
    } finally {
      taken.close()
    }
  })
})

describe('runDnsServer stopped while it starts', () => {
  it('stops at once when asked to while the first listing is still being read', async () => {
    // A store whose listings never come back: a stop must not wait for them.
    class StalledStore extends MemoryStore {
      override list(): ReturnType<MemoryStore['list']> {
        return new Promise(() => {})
      }
    }
    const stop = new AbortController()
    const running = runDnsServer(async () => new StalledStore(), keys, logger, {commandLine: {listen: [`127.0.0.1:${await freePort()}`], workers: 1, upstream: ['127.0.0.1:9']}, logFormat: 'text'}, stop.signal)
    await new Promise((r) => setTimeout(r, 100))
    stop.abort()
    let timer: NodeJS.Timeout | undefined
    const outcome = await Promise.race([running.then(() => 'stopped'), new Promise((r) => (timer = setTimeout(() => r('still listing'), 2000)))])
    clearTimeout(timer)
    expect(outcome).toBe('stopped')
  })
})
