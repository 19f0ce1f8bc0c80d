import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {runCli} from '../helpers/cli.js'
import {type EtcdMember, startEtcd} from '../helpers/etcd.js'
import {cleanup, createUnderlay, inNs, tearDown, type Underlay} from '../helpers/netns.js'
import {uniquePrefixes} from '../helpers/shared-etcd.js'

const PREFIX = 'cnh-'

describe('end-to-end harness: hosts in namespaces reach an etcd on the underlay', () => {
  let underlay: Underlay
  let etcd: EtcdMember

  beforeAll(async () => {
    await cleanup(PREFIX)
    underlay = await createUnderlay(PREFIX, 2, '10.98.0')
    etcd = await startEtcd({name: 'e2e', host: underlay.rootAddress})
  }, 60_000)

  afterAll(async () => {
    expect(await tearDown(PREFIX, {etcd})).toEqual({namespaces: [], links: []})
  })

  it('hosts ping each other over the underlay', async () => {
    const out = await inNs(underlay.hosts[0].ns, 'ping', ['-c', '1', '-W', '2', underlay.hosts[1].address])
    expect(out).toMatch(/1 received/)
  })

  it('a CLI call from one host namespace sees the config another wrote', async () => {
    const prefixes = uniquePrefixes('e2e')
    const env = {CNET_ETCD_ENDPOINTS: etcd.endpoint, CNET_ETCD_PREFIX: prefixes.networkPrefix}
    const init = await runCli(['network', 'init', '--network', '10.50.0.0/16'], {env, netns: underlay.hosts[0].ns})
    expect(init.exitCode).toBe(0)
    const show = await runCli(['network', 'show', '--json'], {env, netns: underlay.hosts[1].ns})
    expect(show.exitCode).toBe(0)
    expect(JSON.parse(show.stdout)).toMatchObject({Network: '10.50.0.0/16', SubnetLen: 24})
  })
})
