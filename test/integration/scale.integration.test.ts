import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {openStore} from '../../src/store/index.js'
import {Keys} from '../../src/store/keys.js'
import type {Store} from '../../src/store/store.js'
import {SEEDED_NETWORK, instanceAddress, seedFleet, seedSubnets} from '../../bench/lib/seed.js'
import {cliEnv, runCli} from '../helpers/cli.js'
import {type DnsServer, dig, startDnsServer} from '../helpers/dns-server.js'
import {freePort} from '../helpers/ports.js'
import {uniquePrefixes, useEtcd} from '../helpers/shared-etcd.js'

/**
 * Past gRPC's 4 MB reply limit in both prefixes: about 20,000 registrations (each with
 * its per-node index entry) and 24,000 subnet reservations, seeded in bulk, and the
 * readers that list a whole prefix still work: `dns serve` answers through dig,
 * `svc list --json` and `subnet list --json` print every entry. Before lists paged, each
 * of them failed with "Received message larger than max" (exit 70).
 */
describe('readers past the 4 MB reply limit', () => {
  const etcd = useEtcd('scale')
  const prefixes = uniquePrefixes('scale')
  const keys = new Keys(prefixes)
  const SERVICES = 2000
  const PER_SERVICE = 10
  const SUBNETS = 24_000
  let store: Store
  let env: Record<string, string>

  beforeAll(async () => {
    env = cliEnv(etcd().endpoint, prefixes)
    store = await openStore({endpoints: [etcd().endpoint], deadlineMs: 20_000})
    await store.put(keys.networkConfig(), JSON.stringify(SEEDED_NETWORK))
    // No checks (always passing) keeps them small: the services prefix is still past 4 MB.
    await seedFleet(store, keys, {services: SERVICES, instancesPerService: PER_SERVICE, nodes: 1000, health: false, check: false})
    await seedSubnets(store, keys, {count: SUBNETS})
    const services = await store.list(keys.servicesPrefix())
    const subnets = await store.list(keys.subnetsPrefix())
    const bytes = (listing: typeof services) => listing.items.reduce((sum, i) => sum + i.key.length + i.value.length, 0)
    expect(bytes(services)).toBeGreaterThan(4 * 1024 * 1024)
    expect(bytes(subnets)).toBeGreaterThan(4 * 1024 * 1024)
  }, 60_000)
  afterAll(async () => {
    await store?.close()
  })

  it('dns serve starts and answers a name through dig', async () => {
    let server: DnsServer | undefined
    try {
      server = await startDnsServer(['--upstream', '127.0.0.1:9'], env, await freePort())
      const answer = await dig(server.port, ['+short', 'svc1234.default.svc.cluster.local', 'A'])
      expect(answer.trim().split('\n').sort()).toEqual(Array.from({length: PER_SERVICE}, (_, k) => `10.0.${((12340 + k + 1) >> 8) & 255}.${(12340 + k + 1) & 255}`).sort())
    } finally {
      await server?.stop()
    }
  })

  // As started with two workers: the first kept its listing unparsed (each service parsed
  // when first asked for, the rest in the background once it answered), the second
  // parsed as it listed. Both must answer alike: each query is asked several times, so
  // both workers answer it. (The registry's own tests cover a reverse name asked before
  // the background parsing is done.)
  it('dns serve with two workers answers names, reverse names and misses alike from each', async () => {
    let server: DnsServer | undefined
    try {
      server = await startDnsServer(['--upstream', '127.0.0.1:9', '--workers', '2'], env, await freePort())
      const n = 777 * PER_SERVICE + 3 // instance 3 of svc777
      const address = instanceAddress(n)
      for (let i = 0; i < 6; i++) {
        expect((await dig(server.port, ['+short', 'svc1999.default.svc.cluster.local', 'A'])).trim().split('\n')).toHaveLength(PER_SERVICE)
        expect((await dig(server.port, ['+short', '-x', address])).trim()).toBe('svc777-3.svc777.default.svc.cluster.local.')
        expect(await dig(server.port, ['nosuch.default.svc.cluster.local', 'A'])).toMatch(/status: NXDOMAIN/)
        expect(await dig(server.port, ['svc5.nosuchns.svc.cluster.local', 'A'])).toMatch(/status: NXDOMAIN/)
      }
    } finally {
      await server?.stop()
    }
  })

  it('svc list --json prints every registration as valid JSON', async () => {
    const result = await runCli(['svc', 'list', '--json'], {env, timeoutMs: 30_000})
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
    const rows = JSON.parse(result.stdout) as {id: string; name: string}[]
    expect(rows).toHaveLength(SERVICES * PER_SERVICE)
    expect(new Set(rows.map((r) => `${r.name}/${r.id}`)).size).toBe(SERVICES * PER_SERVICE)
  })

  it('subnet list --json prints every lease as valid JSON', async () => {
    const result = await runCli(['subnet', 'list', '--json'], {env, timeoutMs: 30_000})
    expect(result.exitCode).toBe(0)
    const rows = JSON.parse(result.stdout) as {subnet: string}[]
    expect(rows).toHaveLength(SUBNETS)
    expect(new Set(rows.map((r) => r.subnet)).size).toBe(SUBNETS)
  })
})
