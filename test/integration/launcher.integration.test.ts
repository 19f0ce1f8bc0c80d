import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {Keys, openStore} from '../../src/store/index.js'
import type {Store} from '../../src/store/store.js'
import {planRegistration} from '../../src/svc/registration-plan.js'
import {registerInstance} from '../../src/svc/registry.js'
import {CLI, cliEnv} from '../helpers/cli.js'
import {type EtcdMember, startEtcd} from '../helpers/etcd.js'
import {waitUntil} from '../helpers/poll.js'
import {uniquePrefixes} from '../helpers/shared-etcd.js'

/**
 * bin/run.js started as a program goes through its shell line, which adds glibc's huge
 * pages tunable for cnet's own process; what cnet runs gets the environment cnet was given.
 */
describe('the launcher line of bin/run.js', () => {
  let etcd: EtcdMember
  let store: Store
  let dir: string
  const prefixes = uniquePrefixes('launcher')
  beforeAll(async () => {
    etcd = await startEtcd({name: 'launcher'})
    store = await openStore({endpoints: [etcd.endpoint], deadlineMs: 2000})
    const keys = new Keys(prefixes)
    await registerInstance(store, keys, planRegistration({name: 'web', id: 'web-1', namespace: 'default', address: '10.0.0.1', port: 80, protocol: 'tcp', tags: [], meta: [], weight: 1, node: 'n1', check: {}}, new Date()))
    dir = mkdtempSync(join(tmpdir(), 'cnet-launcher-'))
  }, 30_000)
  afterAll(async () => {
    await store?.close()
    await etcd?.destroy()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  /**
   * Starts `svc watch web --exec` (as a program, or through node), whose handler writes
   * the GLIBC_TUNABLES it was given ("unset" when it has none) and whether the launcher's
   * own variable leaked; returns that and cnet's own GLIBC_TUNABLES as the kernel shows it.
   */
  async function tunablesSeen(given: string | undefined, asProgram = true): Promise<{handler: string; cnet: string | undefined}> {
    const out = join(dir, `handler-${Math.random().toString(36).slice(2)}`)
    const handler = `sh -c 'printf "%s|%s" "\${GLIBC_TUNABLES-unset}" "\${CNET_GIVEN_GLIBC_TUNABLES-unset}" > ${out}'`
    const env: NodeJS.ProcessEnv = {...process.env, NO_COLOR: '1', ...cliEnv(etcd.endpoint, prefixes)}
    delete env.GLIBC_TUNABLES
    if (given !== undefined) env.GLIBC_TUNABLES = given
    const args = ['svc', 'watch', 'web', '--exec', handler]
    const child = asProgram ? spawn(CLI, args, {env, stdio: 'ignore'}) : spawn(process.execPath, [CLI, ...args], {env, stdio: 'ignore'})
    try {
      const written = await waitUntil('the handler to run', () => (existsSync(out) ? readFileSync(out, 'utf8') : ''), (text) => text.includes('|'), 15_000)
      // glibc leaves only the first tunable visible in the process's own environment.
      const environ = readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0')
      return {handler: written, cnet: environ.find((entry) => entry.startsWith('GLIBC_TUNABLES='))?.slice('GLIBC_TUNABLES='.length)}
    } finally {
      child.kill('SIGKILL')
    }
  }

  it('gives cnet huge pages and its children the environment it was given', async () => {
    expect(await tunablesSeen(undefined)).toEqual({handler: 'unset|unset', cnet: 'glibc.malloc.hugetlb=1'})
    // set and empty is kept as set and empty
    expect(await tunablesSeen('')).toEqual({handler: '|unset', cnet: 'glibc.malloc.hugetlb=1'})
  }, 30_000)

  it('puts an operator\'s tunables after its own, so theirs win', async () => {
    const seen = await tunablesSeen('glibc.malloc.hugetlb=0:glibc.malloc.arena_max=2')
    expect(seen.handler).toBe('glibc.malloc.hugetlb=0:glibc.malloc.arena_max=2|unset')
    expect(seen.cnet).toMatch(/^glibc\.malloc\.hugetlb=1(:|$)/)
  }, 30_000)

  it('is skipped by `node bin/run.js`, which changes nothing', async () => {
    expect(await tunablesSeen(undefined, false)).toEqual({handler: 'unset|unset', cnet: undefined})
    expect(await tunablesSeen('glibc.malloc.arena_max=2', false)).toEqual({handler: 'glibc.malloc.arena_max=2|unset', cnet: 'glibc.malloc.arena_max=2'})
  }, 30_000)
})
