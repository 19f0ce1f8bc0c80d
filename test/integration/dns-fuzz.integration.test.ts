import dgram from 'node:dgram'
import {readFileSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import * as packet from 'dns-packet'
import {cliEnv} from '../helpers/cli.js'
import {type DnsServer, dig, startDnsServer} from '../helpers/dns-server.js'
import {waitFor} from '../helpers/poll.js'
import {freePort} from '../helpers/ports.js'
import {uniquePrefixes, useEtcd} from '../helpers/shared-etcd.js'

const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])

/** A seeded generator so a failure can be replayed. */
function random(seed: number) {
  let state = seed
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff
    return state / 0x7fffffff
  }
}

describe('cnet dns serve under random and mutated packets', () => {
  const etcd = useEtcd('dnsfuzz')
  let server: DnsServer
  beforeAll(async () => {
    server = await startDnsServer(['--upstream', '127.0.0.1:9'], cliEnv(etcd().endpoint, uniquePrefixes('dnsfuzz')), await freePort())
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('survives 100,000 packets with bounded memory and still answers', async () => {
    const rand = random(42)
    const valid = packet.encode({type: 'query', id: 1, flags: packet.RECURSION_DESIRED, questions: [{name: 'web.default.svc.cluster.local', type: 'A'}], additionals: [{type: 'OPT', name: '.', udpPayloadSize: 4096} as packet.Answer]})
    // After each batch a marker query, sent until it is answered: the server reads its
    // socket in order, so an answer means the whole batch was read (none left to the
    // kernel to drop), and the next batch goes out only then.
    const MARK = 'fuzz-mark.cluster.local'
    const markLabel = Buffer.from('\x09fuzz-mark', 'latin1')
    const marked = new Set<number>()
    const socket = dgram.createSocket('udp4')
    socket.on('message', (message: Buffer) => {
      if (message.length > 12 && message.includes(markLabel)) marked.add(message.readUInt16BE(0))
    })
    const markerAnswered = (id: number) => {
      if (!marked.has(id)) socket.send(packet.encode({type: 'query', id, flags: packet.RECURSION_DESIRED, questions: [{name: MARK, type: 'A'}]}), server.port, '127.0.0.1')
      return marked.has(id)
    }
    const pid = server.child.pid!
    const before = rssKb(pid)
    for (let batch = 0; batch < 100; batch++) {
      for (let i = 0; i < 1000; i++) {
        let payload: Buffer
        if (i % 2 === 0) {
          payload = Buffer.alloc(Math.floor(rand() * 300))
          for (let j = 0; j < payload.length; j++) payload[j] = Math.floor(rand() * 256)
        } else {
          payload = Buffer.from(valid)
          for (let flips = 1 + Math.floor(rand() * 4); flips > 0; flips--) payload[Math.floor(rand() * payload.length)] = Math.floor(rand() * 256)
          if (rand() < 0.2) payload = payload.subarray(0, Math.floor(rand() * payload.length))
        }
        socket.send(payload, server.port, '127.0.0.1')
      }
      await waitFor(`batch ${batch} read`, () => markerAnswered(0xf000 + batch), {timeoutMs: 20_000, intervalMs: 20})
    }
    socket.close()
    const after = rssKb(pid)
    console.log(`fuzz: RSS ${before} kB before, ${after} kB after 100,000 packets`)
    expect(server.child.exitCode).toBeNull()
    expect(after - before).toBeLessThan(150 * 1024)
    expect(await dig(server.port, ['+short', 'dns-version.cluster.local', 'TXT'])).toMatch(/cnet-dns/)
  }, 60_000)
})
