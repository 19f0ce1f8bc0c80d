import dgram from 'node:dgram'
import {readFileSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import * as packet from 'dns-packet'
import {cliEnv} from '../helpers/cli.js'
import {type DnsServer, dig, startDnsServer} from '../helpers/dns-server.js'
import {sleep} from '../helpers/etcd.js'
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
    const socket = dgram.createSocket('udp4')
    socket.on('message', () => {})
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
      await sleep(15)
    }
    await sleep(500)
    socket.close()
    const after = rssKb(pid)
    console.log(`fuzz: RSS ${before} kB before, ${after} kB after 100,000 packets`)
    expect(server.child.exitCode).toBeNull()
    expect(after - before).toBeLessThan(150 * 1024)
    expect(await dig(server.port, ['+short', 'dns-version.cluster.local', 'TXT'])).toMatch(/cnet-dns/)
  }, 60_000)
})
