import {type ChildProcess, spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync} from 'node:fs'
import {type Server, createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {Keys, openStore} from '../../src/store/index.js'
import type {Store} from '../../src/store/store.js'
import {planRegistration} from '../../src/svc/registration-plan.js'
import {registerInstance, setMaintenance} from '../../src/svc/registry.js'
import {CLI, cliEnv} from '../helpers/cli.js'
import {type EtcdMember, startEtcd} from '../helpers/etcd.js'
import {waitUntil} from '../helpers/poll.js'
import {freePort} from '../helpers/ports.js'
import {uniquePrefixes} from '../helpers/shared-etcd.js'

/** waitUntil with this file's longer default: a watch reports after its debounce. */
const until = <T,>(what: string, read: () => T | Promise<T>, ok: (value: T) => boolean) => waitUntil(what, read, ok, 15_000)

function spawnCli(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [CLI, ...args], {env: {...process.env, NO_COLOR: '1', ...env}, stdio: ['ignore', 'pipe', 'pipe']})
  const out = {stdout: '', stderr: ''}
  child.stdout!.on('data', (d) => (out.stdout += d))
  child.stderr!.on('data', (d) => (out.stderr += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {child, out, exited}
}

const plan = (id: string, over: Record<string, unknown> = {}) =>
  planRegistration({name: 'web', id, namespace: 'default', address: `10.0.0.${id.split('-')[1]}`, port: 80, protocol: 'tcp', tags: [], meta: [], weight: 1, node: 'n1', check: {}, ...over}, new Date())

describe('svc watch and health run --metrics against a real etcd', () => {
  let etcd: EtcdMember
  let store: Store
  const children: ChildProcess[] = []
  beforeAll(async () => {
    etcd = await startEtcd({name: 'svc-watch'})
    store = await openStore({endpoints: [etcd.endpoint], deadlineMs: 2000})
  }, 30_000)
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    await store?.close()
    await etcd?.destroy()
  })

  it('prints the healthy set on every change, runs the handler one at a time, and goes on through an etcd outage', async () => {
    const prefixes = uniquePrefixes('watch')
    const keys = new Keys(prefixes)
    const dir = mkdtempSync(join(tmpdir(), 'cnet-watch-'))
    const log = join(dir, 'handler.log')
    await registerInstance(store, keys, plan('web-1'))
    // Records each run's start, its input and its end; slow, and failing every time.
    const handler = `sh -c 'echo start >> ${log}; cat >> ${log}; echo >> ${log}; sleep 0.3; echo end >> ${log}; exit 3'`
    const watch = spawnCli(['svc', 'watch', 'web', '--json', '--debounce', '100ms', '--exec', handler, '--log-format', 'json'], cliEnv(etcd.endpoint, prefixes))
    children.push(watch.child)
    const sets = () => watch.out.stdout.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as {instances: {id: string}[]}).instances.map((i) => i.id))
    await until('the first set', sets, (s) => s.length === 1)
    expect(sets()).toEqual([['web-1']])

    // Registered with a check and no result yet: critical, no change to the set. Passing: in.
    await registerInstance(store, keys, plan('web-2', {check: {tcp: '10.0.0.2:80'}}))
    await store.put(keys.health('default', 'web', 'web-2'), JSON.stringify({status: 'passing', output: '', since: '', checkedAt: '', prober: 'x'}))
    await until('web-2 in', () => sets().at(-1), (s) => s?.join() === 'web-1,web-2')
    expect(sets()).toHaveLength(2)
    await setMaintenance(store, keys, 'default', 'web-1', {reason: 'test', since: new Date().toISOString()})
    await until('web-1 out', () => sets().at(-1), (s) => s?.join() === 'web-2')
    // A burst is debounced into fewer lines than changes.
    const before = sets().length
    for (const i of [3, 4, 5, 6]) await registerInstance(store, keys, plan(`web-${i}`))
    await until('the burst', () => sets().at(-1), (s) => s?.join() === 'web-2,web-3,web-4,web-5,web-6')
    expect(sets().length - before).toBeLessThan(4)

    // An outage: the watch waits, then follows again.
    await etcd.stop()
    await new Promise((r) => setTimeout(r, 1000))
    await etcd.start()
    await etcd.waitReady()
    await registerInstance(store, keys, plan('web-7'))
    await until('web-7 after the outage', () => sets().at(-1), (s) => s?.includes('web-7') ?? false)

    await until('the handler to catch up', () => (existsSync(log) ? readFileSync(log, 'utf8') : ''), (text) => text.includes('web-7') && text.trim().endsWith('end'))
    watch.child.kill('SIGTERM')
    expect(await watch.exited).toBe(0)
    const marks = readFileSync(log, 'utf8').split('\n').filter((l) => l === 'start' || l === 'end')
    // Never two at once: start and end alternate.
    expect(marks.join(' ')).toBe(Array.from({length: marks.length / 2}, () => 'start end').join(' '))
    expect(marks.length / 2).toBeLessThanOrEqual(sets().length)
    expect(watch.out.stderr).toMatch(/handler failed; watching goes on.*exit 3/)
  }, 90_000)

  it('health run --metrics serves the families docs/services.md lists', async () => {
    const prefixes = uniquePrefixes('metrics')
    const keys = new Keys(prefixes)
    const port = await freePort()
    const server: Server = createServer((s) => s.destroy())
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    const metricsPort = await freePort()
    try {
      await registerInstance(store, keys, plan('web-1', {address: '127.0.0.1', node: 'm1', check: {tcp: `127.0.0.1:${port}`, interval: '1s'}}))
      const prober = spawnCli(['health', 'run', '--node', 'm1', '--metrics', `127.0.0.1:${metricsPort}`], cliEnv(etcd.endpoint, prefixes))
      children.push(prober.child)
      const scrape = async () => {
        try {
          const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
          return await response.text()
        } catch {
          return ''
        }
      }
      const text = await until('a probe counted', scrape, (t) => /cnet_health_probes_total\{type="tcp",result="passing"\} [1-9]/.test(t))
      const served = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]))
      const docs = readFileSync(new URL('../../docs/services.md', import.meta.url), 'utf8')
      const documented = [...docs.matchAll(/^\| `(cnet_health_[a-z_]+)` \|/gm)].map((m) => m[1])
      expect(documented.length).toBeGreaterThanOrEqual(8)
      for (const name of documented) expect(served).toContain(name)
      expect([...served].filter((name) => name!.startsWith('cnet_health_')).sort()).toEqual([...documented].sort())
      expect(served).toContain('cnet_build_info')
      expect(text).toMatch(/cnet_health_checks\{status="passing"\} 1/)
      prober.child.kill('SIGTERM')
      expect(await prober.exited).toBe(0)
    } finally {
      server.close()
    }
  }, 60_000)
})
