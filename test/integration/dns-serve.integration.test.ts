import {Resolver} from 'node:dns/promises'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {openStore} from '../../src/store/index.js'
import type {Store} from '../../src/store/store.js'
import {cliEnv, runCli} from '../helpers/cli.js'
import {type DnsServer, dig, rcodeOf, startDnsServer} from '../helpers/dns-server.js'
import {sleep} from '../helpers/etcd.js'
import {waitFor} from '../helpers/poll.js'
import {freePort} from '../helpers/ports.js'
import {servicesFixture} from '../helpers/services-fixture.js'
import {uniquePrefixes, useEtcd} from '../helpers/shared-etcd.js'

const short = (text: string) => text.split('\n').filter(Boolean)

describe('cnet dns serve', () => {
  const etcd = useEtcd('dns')
  const prefixes = uniquePrefixes('dns')
  let store: Store
  let fixture: ReturnType<typeof servicesFixture>
  let server: DnsServer
  let port: number

  beforeAll(async () => {
    store = await openStore({endpoints: [etcd().endpoint]})
    fixture = servicesFixture(store, prefixes)
    await fixture.putInstance({id: 'web-1', name: 'web', address: '10.1.0.1', port: 8080, portName: 'http', tags: ['Canary']})
    await fixture.putInstance({id: 'web-2', name: 'web', address: '10.1.0.2', port: 8080, portName: 'http', weight: 3, tags: ['stable']})
    await fixture.putInstance({id: 'web-6', name: 'web', address: 'fd00::6', port: 8080, portName: 'http', tags: ['canary']})
    await fixture.putInstance({id: 'db-1', name: 'db', address: '10.1.0.9', port: 5432, check: {type: 'ttl', ttlMs: 10_000}})
    await fixture.putInstance({id: 'warn-1', name: 'flaky', address: '10.1.0.20', check: {type: 'ttl', ttlMs: 10_000}})
    await fixture.putHealth('default', 'flaky', 'warn-1', 'warning')
    for (let i = 0; i < 60; i++) await fixture.putInstance({id: `big-${i}`, name: 'big', address: `10.2.0.${i + 1}`})
    for (let i = 0; i < 20; i++) await fixture.putInstance({id: `mid-${i}`, name: 'mid', address: `10.3.0.${i + 1}`})
    // as another tool might write it: an id no DNS label can hold
    await fixture.putInstance({id: 'x'.repeat(64), name: 'odd', address: '10.4.0.1'})
    port = await freePort()
    server = await startDnsServer(['--upstream', '127.0.0.1:1'], cliEnv(etcd().endpoint, prefixes), port)
  }, 60_000)

  afterAll(async () => {
    if (server) expect(await server.stop()).toBe(0)
    await store.deletePrefix(prefixes.cnetPrefix + '/').catch(() => {})
    await store.close()
  })

  it('answers A and AAAA for healthy instances with the AA bit, over UDP and TCP', async () => {
    const a = await dig(port, ['web.default.svc.cluster.local', 'A'])
    expect(rcodeOf(a)).toBe('NOERROR')
    expect(a).toMatch(/flags: qr aa rd;/)
    expect(short(await dig(port, ['+short', 'web.default.svc.cluster.local', 'A'])).sort()).toEqual(['10.1.0.1', '10.1.0.2'])
    expect(short(await dig(port, ['+short', '+tcp', 'web.default.svc.cluster.local', 'A'])).sort()).toEqual(['10.1.0.1', '10.1.0.2'])
    expect(short(await dig(port, ['+short', 'web.default.svc.cluster.local', 'AAAA']))).toEqual(['fd00::6'])
    const resolver = new Resolver()
    resolver.setServers([`127.0.0.1:${port}`])
    expect((await resolver.resolve4('web.default.svc.cluster.local')).sort()).toEqual(['10.1.0.1', '10.1.0.2'])
  })

  it('rotates the order of addresses between answers', async () => {
    const firsts = new Set<string>()
    for (let i = 0; i < 4; i++) firsts.add(short(await dig(port, ['+short', 'web.default.svc.cluster.local', 'A']))[0]!)
    expect(firsts.size).toBe(2)
  })

  it('answers plain queries (no EDNS) from their raw bytes as it answers decoded ones, rotating, and sees index changes', async () => {
    const plain = (name: string, ...extra: string[]) => dig(port, ['+noedns', ...extra, name, 'A'])
    for (let i = 0; i < 3; i++) {
      const reply = await plain('web.default.svc.cluster.local')
      expect(reply).toMatch(/flags: qr aa rd;/)
      expect(reply).not.toMatch(/OPT PSEUDOSECTION/)
    }
    const firsts = new Set<string>()
    for (let i = 0; i < 4; i++) firsts.add(short(await plain('web.default.svc.cluster.local', '+short'))[0]!)
    expect(firsts).toEqual(new Set(['10.1.0.1', '10.1.0.2']))
    expect(await plain('web.default.svc.cluster.local', '+norecurse')).toMatch(/flags: qr aa;/)
    expect(rcodeOf(await plain('nothere.default.svc.cluster.local'))).toBe('NXDOMAIN')
    expect(rcodeOf(await plain('nothere.default.svc.cluster.local'))).toBe('NXDOMAIN')
    // a registration clears what was kept
    await fixture.putInstance({id: 'web-3', name: 'web', address: '10.1.0.3', port: 8080, portName: 'http'})
    try {
      const seen = await waitFor('web-3 in the plain answer', async () => {
        const addresses = short(await plain('web.default.svc.cluster.local', '+short'))
        return addresses.length >= 3 && addresses
      }, {intervalMs: 25})
      expect(seen.sort()).toEqual(['10.1.0.1', '10.1.0.2', '10.1.0.3'])
    } finally {
      await fixture.deleteInstance('default', 'web', 'web-3')
    }
  })

  it("gives every asker its own spelling of the name back (DNS 0x20), with and without EDNS", async () => {
    for (const edns of ['+edns=0', '+noedns']) {
      for (const name of ['web.default.svc.cluster.local', 'WeB.DeFaUlT.svc.CLUSTER.local', 'wEb.default.SVC.cluster.LOCAL']) {
        const reply = await dig(port, [edns, name, 'A'])
        const lines = reply.split('\n')
        expect(lines.filter((line) => /^;\S+\s+IN\s+A$/.test(line))).toEqual([expect.stringMatching(new RegExp(`^;${name.replace(/\./g, '\\.')}\\.\\s`))])
        const owners = lines.filter((line) => /^\S+\s+\d+\s+IN\s+A\s/.test(line)).map((line) => line.split(/\s/)[0])
        // the records' owner names are not compressed into the question: only the question must match (as resolvers check)
        expect(owners.map((owner) => owner!.toLowerCase())).toEqual(['web.default.svc.cluster.local.', 'web.default.svc.cluster.local.'])
      }
    }
  })

  it('answers one instance by id, SRV with weights and glue, and PTR', async () => {
    expect(short(await dig(port, ['+short', 'web-2.web.default.svc.cluster.local', 'A']))).toEqual(['10.1.0.2'])
    const srv = await dig(port, ['_http._tcp.web.default.svc.cluster.local', 'SRV'])
    expect(srv).toMatch(/SRV\s+0 3 8080 web-2\.web\.default\.svc\.cluster\.local\./)
    expect(srv).toMatch(/ADDITIONAL SECTION:[\s\S]*web-2\.web\.default\.svc\.cluster\.local\.\s+5\s+IN\s+A\s+10\.1\.0\.2/)
    expect(short(await dig(port, ['+short', 'web.default.svc.cluster.local', 'SRV']))).toHaveLength(3)
    expect(short(await dig(port, ['+short', '-x', '10.1.0.2']))).toEqual(['web-2.web.default.svc.cluster.local.'])
    expect(short(await dig(port, ['+short', '-x', 'fd00::6']))).toEqual(['web-6.web.default.svc.cluster.local.'])
  })

  it('answers tag names: A, AAAA and SRV of the healthy instances carrying the tag, and nothing for a tag no one has', async () => {
    expect(short(await dig(port, ['+short', 'canary._tag.web.default.svc.cluster.local', 'A']))).toEqual(['10.1.0.1'])
    expect(short(await dig(port, ['+short', 'canary._tag.web.default.svc.cluster.local', 'AAAA']))).toEqual(['fd00::6'])
    expect(short(await dig(port, ['+short', 'CANARY._tag.web.default.svc.cluster.local', 'SRV'])).sort()).toEqual(['0 1 8080 web-1.web.default.svc.cluster.local.', '0 1 8080 web-6.web.default.svc.cluster.local.'])
    const srv = await dig(port, ['stable._tag.web.default.svc.cluster.local', 'SRV'])
    expect(srv).toMatch(/flags: qr aa rd;/)
    expect(srv).toMatch(/ADDITIONAL SECTION:[\s\S]*web-2\.web\.default\.svc\.cluster\.local\.\s+5\s+IN\s+A\s+10\.1\.0\.2/)
    expect(rcodeOf(await dig(port, ['nobody._tag.web.default.svc.cluster.local', 'A']))).toBe('NXDOMAIN')
    // an instance id that looks like a tag is still the instance, and the _tag branch exists
    expect(rcodeOf(await dig(port, ['canary.web.default.svc.cluster.local', 'A']))).toBe('NXDOMAIN')
    expect(rcodeOf(await dig(port, ['_tag.web.default.svc.cluster.local', 'A']))).toBe('NOERROR')
  })

  it("answers the zone's NS target with the server's own address, glued to the NS answer", async () => {
    expect(short(await dig(port, ['+short', 'cluster.local', 'NS']))).toEqual(['ns.dns.cluster.local.'])
    expect(await dig(port, ['cluster.local', 'NS'])).toMatch(/ADDITIONAL SECTION:\s+ns\.dns\.cluster\.local\.\s+5\s+IN\s+A\s+127\.0\.0\.1/)
    expect(short(await dig(port, ['+short', 'ns.dns.cluster.local', 'A']))).toEqual(['127.0.0.1'])
    expect(short(await dig(port, ['+short', 'cluster.local', 'SOA']))[0]).toMatch(/^ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\./)
    expect(rcodeOf(await dig(port, ['dns.cluster.local', 'A']))).toBe('NOERROR')
  })

  it('NXDOMAIN with the SOA for unknown names and unhealthy services, NODATA for a missing type, version TXT', async () => {
    const missing = await dig(port, ['nope.default.svc.cluster.local', 'A'])
    expect(rcodeOf(missing)).toBe('NXDOMAIN')
    expect(missing).toMatch(/AUTHORITY SECTION:\s+cluster\.local\.\s+5\s+IN\s+SOA/)
    // a check and no health record: critical, so no healthy instance
    expect(rcodeOf(await dig(port, ['db.default.svc.cluster.local', 'A']))).toBe('NXDOMAIN')
    // warning counts as healthy unless --only-passing
    expect(short(await dig(port, ['+short', 'flaky.default.svc.cluster.local', 'A']))).toEqual(['10.1.0.20'])
    const nodata = await dig(port, ['web-1.web.default.svc.cluster.local', 'AAAA'])
    expect(rcodeOf(nodata)).toBe('NOERROR')
    expect(nodata).toMatch(/ANSWER: 0,/)
    expect(nodata).toMatch(/IN\s+SOA/)
    expect(short(await dig(port, ['+short', 'dns-version.cluster.local', 'TXT']))[0]).toMatch(/^"cnet-dns/)
  })

  it('handles EDNS: none, BADVERS for version 1, unknown options and flags, DO', async () => {
    expect(rcodeOf(await dig(port, ['+noedns', 'web.default.svc.cluster.local']))).toBe('NOERROR')
    expect(rcodeOf(await dig(port, ['+edns=1', '+noednsneg', 'web.default.svc.cluster.local']))).toBe('BADVERS')
    expect(rcodeOf(await dig(port, ['+ednsopt=100', 'web.default.svc.cluster.local']))).toBe('NOERROR')
    expect(rcodeOf(await dig(port, ['+ednsflags=0x80', 'web.default.svc.cluster.local']))).toBe('NOERROR')
    expect(rcodeOf(await dig(port, ['+bufsize=512', 'web.default.svc.cluster.local']))).toBe('NOERROR')
    expect(short(await dig(port, ['+dnssec', '+short', 'web-1.web.default.svc.cluster.local']))).toEqual(['10.1.0.1'])
  })

  it('fits 20 instances in the 512 bytes of a query without EDNS (names compressed, as CoreDNS does)', async () => {
    const udp = await dig(port, ['+noedns', '+ignore', 'mid.default.svc.cluster.local', 'A'])
    expect(udp).toMatch(/flags: qr aa rd;/)
    expect(udp).toMatch(/ANSWER: 20,/)
    // 12 header, 35 question, 16 per record: each owner name a pointer to the question's
    expect(udp).toMatch(/MSG SIZE {2}rcvd: 367\n/)
    const srv = await dig(port, ['+noedns', '+ignore', 'web.default.svc.cluster.local', 'SRV'])
    expect(srv).toMatch(/flags: qr aa rd;/)
    expect(srv).toMatch(/ANSWER: 3, AUTHORITY: 0, ADDITIONAL: 3/)
  })

  it('answers SERVFAIL for records no message can carry (a 64-byte id), and goes on serving', async () => {
    expect(rcodeOf(await dig(port, ['odd.default.svc.cluster.local', 'SRV']))).toBe('SERVFAIL')
    expect(short(await dig(port, ['+short', 'odd.default.svc.cluster.local', 'A']))).toEqual(['10.4.0.1'])
    expect(short(await dig(port, ['+short', 'web.default.svc.cluster.local', 'A'])).sort()).toEqual(['10.1.0.1', '10.1.0.2'])
  })

  it('truncates 60 instances over UDP and gives all 60 over TCP', async () => {
    const udp = await dig(port, ['+noedns', '+ignore', 'big.default.svc.cluster.local', 'A'])
    expect(udp).toMatch(/flags: qr aa tc rd;/)
    expect(short(await dig(port, ['+short', '+tcp', 'big.default.svc.cluster.local', 'A']))).toHaveLength(60)
  })

  it('answers NOTIMP for other opcodes, REFUSED for classes other than IN, and stays silent for garbage', async () => {
    expect(rcodeOf(await dig(port, ['+opcode=2', 'web.default.svc.cluster.local']))).toBe('NOTIMP')
    // the registry holds class IN data: another class is refused, not answered with IN records
    expect(rcodeOf(await dig(port, ['-c', 'CH', 'web.default.svc.cluster.local', 'A']))).toBe('REFUSED')
    expect(rcodeOf(await dig(port, ['+noedns', '-c', 'CH', 'web.default.svc.cluster.local', 'A']))).toBe('REFUSED')
    const dgram = await import('node:dgram')
    const socket = dgram.createSocket('udp4')
    const replies: Buffer[] = []
    socket.on('message', (m) => replies.push(m))
    socket.send(Buffer.from([1, 2, 3]), port, '127.0.0.1')
    // readable header, broken question: FORMERR
    socket.send(Buffer.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 9, 1]), port, '127.0.0.1')
    await waitFor('the FORMERR reply', () => replies.length > 0)
    await sleep(100) // proves a negative: no reply to the garbage arrives after the FORMERR one either
    socket.close()
    expect(replies).toHaveLength(1)
    expect(replies[0]!.readUInt16BE(0)).toBe(7)
    expect(replies[0]!.readUInt16BE(2) & 0xf).toBe(1)
  })

  it('sees a service appear and disappear (the times are printed; their budget is bench:dns-scale\'s)', async () => {
    const resolver = new Resolver({timeout: 1000, tries: 1})
    resolver.setServers([`127.0.0.1:${port}`])
    const lookup = (name: string) => resolver.resolve4(name).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOTFOUND') return [] as string[]
      throw error
    })
    const appear: number[] = []
    const disappear: number[] = []
    for (let trial = 0; trial < 5; trial++) {
      const name = `flash${trial}`
      let started = Date.now()
      await fixture.putInstance({id: 'x', name, address: '10.3.0.1'})
      // Node's resolver in-process: polling with dig would add a process start to every figure
      await waitFor(`${name} answered`, async () => (await lookup(`${name}.default.svc.cluster.local`)).includes('10.3.0.1'), {intervalMs: 2})
      appear.push(Date.now() - started)
      started = Date.now()
      await fixture.deleteInstance('default', name, 'x')
      await waitFor(`${name} gone`, async () => (await lookup(`${name}.default.svc.cluster.local`)).length === 0, {intervalMs: 2})
      disappear.push(Date.now() - started)
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    console.log(`service appear ms ${appear.join(',')} median ${median(appear)}; disappear ms ${disappear.join(',')} median ${median(disappear)}`)
    expect([appear.length, disappear.length]).toEqual([5, 5])
  })

  it('follows health changes', async () => {
    await fixture.putHealth('default', 'db', 'db-1', 'passing')
    const answer = await waitFor('db answered once passing', async () => {
      const addresses = short(await dig(port, ['+short', 'db.default.svc.cluster.local']))
      return addresses.length > 0 && addresses
    }, {intervalMs: 20})
    expect(answer).toEqual(['10.1.0.9'])
    await fixture.putHealth('default', 'db', 'db-1', 'critical')
    await waitFor('NXDOMAIN for db once critical', async () => rcodeOf(await dig(port, ['db.default.svc.cluster.local'])) === 'NXDOMAIN', {intervalMs: 20})
  })

  it('rejects a bad flag with exit 2 and a one-line error', async () => {
    const result = await runCli(['dns', 'serve', '--listen', 'nowhere'], {env: cliEnv(etcd().endpoint, prefixes)})
    expect(result.exitCode).toBe(2)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/--listen: "nowhere" is not an address:port/)
  })
})
