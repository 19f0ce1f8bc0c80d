import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {openStore} from '../../src/store/index.js'
import {Keys} from '../../src/store/keys.js'
import type {Store} from '../../src/store/store.js'
import {CLI, cliEnv, runCli, runCliOnTty} from '../helpers/cli.js'
import {uniquePrefixes, useEtcd} from '../helpers/shared-etcd.js'
import {waitFor} from '../helpers/poll.js'

const ANSI = /\x1b\[/
const STACK_FRAME = /^\s+at .+/m

describe('the CLI: internal errors, log format and colour, against a real etcd', () => {
  const etcd = useEtcd()
  let store: Store
  beforeAll(async () => {
    store = await openStore({endpoints: [etcd().endpoint]})
  })
  afterAll(async () => store?.close())

  /**
   * A programming error on demand (CNET_TEST_INTERNAL_ERROR, checked after parsing). The
   * service is named "debug" so that `svc list debug` has the word on its command line.
   */
  async function internalErrorEnv(): Promise<Record<string, string>> {
    return {...cliEnv(etcd().endpoint, uniquePrefixes('internal')), CNET_TEST_INTERNAL_ERROR: '1'}
  }

  it('ignores a health record whose fields have the wrong types, as it ignores one that does not parse', async () => {
    const prefixes = uniquePrefixes('corrupt')
    const keys = new Keys(prefixes)
    const registration = {id: 'd1', name: 'debug', namespace: 'default', address: '10.0.0.1', port: 80, check: {type: 'http', url: 'http://10.0.0.1/', intervalMs: 10_000, timeoutMs: 1000}}
    await store.put(keys.service('default', 'debug', 'd1'), JSON.stringify(registration))
    await store.put(keys.health('default', 'debug', 'd1'), JSON.stringify({status: 'passing', output: 5}))
    const result = await runCli(['svc', 'list', '--json'], {env: cliEnv(etcd().endpoint, prefixes)})
    expect(result.exitCode).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual([expect.objectContaining({id: 'd1', status: 'critical'})])
  })

  const INTERNAL_LINE = /^cnet: internal error: .+ \(run with --log-level debug for the stack\)$/

  it('reports an internal error in one line on stderr, exit 70, without a stack (an argument named debug is not --log-level debug)', async () => {
    const env = await internalErrorEnv()
    for (const args of [['svc', 'list'], ['svc', 'list', 'debug'], ['svc', 'list', 'debug', '--log-level', 'info']]) {
      const result = await runCli(args, {env})
      expect(result.exitCode).toBe(70)
      const lines = result.stderr.trimEnd().split('\n')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(INTERNAL_LINE)
      expect(result.stderr).not.toMatch(STACK_FRAME)
      expect(result.stdout).toBe('')
    }
  })

  it('prints the stack of an internal error with --log-level debug, --log-level=debug or CNET_LOG_LEVEL=debug, and not when the flag overrides the variable', async () => {
    const env = await internalErrorEnv()
    const runs: [string[], Record<string, string>][] = [
      [['svc', 'list', '--log-level', 'debug'], env],
      [['svc', 'list', 'debug', '--log-level=debug'], env],
      [['svc', 'list'], {...env, CNET_LOG_LEVEL: 'debug'}],
    ]
    for (const [args, runEnv] of runs) {
      const result = await runCli(args, {env: runEnv})
      expect(result.exitCode).toBe(70)
      const [first, second, ...rest] = result.stderr.trimEnd().split('\n')
      expect(first).toMatch(INTERNAL_LINE)
      expect(second).toMatch(/^TypeError: /)
      expect(rest.length).toBeGreaterThan(0)
      expect(rest.every((l) => STACK_FRAME.test(l))).toBe(true)
    }
    const overridden = await runCli(['svc', 'list', '--log-level', 'warn'], {env: {...env, CNET_LOG_LEVEL: 'debug'}})
    expect(overridden.exitCode).toBe(70)
    expect(overridden.stderr).not.toMatch(STACK_FRAME)
  })

  it('with --json, an internal error is one JSON document on stdout as well', async () => {
    const env = await internalErrorEnv()
    const result = await runCli(['svc', 'list', '--json'], {env})
    expect(result.exitCode).toBe(70)
    expect(JSON.parse(result.stdout)).toEqual({error: {code: 'InternalError', message: expect.stringMatching(/^internal error: /), exitCode: 70}})
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1)
  })

  it('--log-format json makes every log line on stderr a JSON object, warnings included', async () => {
    const prefixes = uniquePrefixes('logjson')
    const env = cliEnv(etcd().endpoint, prefixes)
    expect((await runCli(['network', 'init', '--network', '10.21.0.0/16'], {env})).exitCode).toBe(0)
    const dir = mkdtempSync(join(tmpdir(), 'cnet-logjson-'))
    const file = join(dir, 'subnet.env')
    const args = [CLI, 'subnet', 'lease', '--public-ip', '192.168.21.1', '--subnet-file', file, '--ttl', '2s', '--keep', '--log-format', 'json']
    const child = spawn(process.execPath, args, {env: {...process.env, ...env, NO_COLOR: '1', CNET_UNSAFE_MIN_TTL: '1s'}, stdio: ['ignore', 'pipe', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    try {
      const logged = (text: string) => waitFor(`"${text}" in the log`, () => stderr.includes(text), {timeoutMs: 15_000})
      await logged('holding subnet')
      // Take its etcd lease away: it is granted again, with a warning.
      const [held] = (await store.list(`${prefixes.networkPrefix}/subnets/`)).items
      await store.revokeLease(held.lease!)
      await logged('granted again')
    } finally {
      child.kill('SIGTERM')
    }
    expect(await exited).toBe(0)
    rmSync(dir, {recursive: true, force: true})
    const lines = stderr.trimEnd().split('\n')
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
    for (const entry of parsed) {
      expect(entry).toEqual(expect.objectContaining({time: expect.any(String), level: expect.stringMatching(/^(debug|info|warn|error)$/), component: expect.any(String), msg: expect.any(String)}))
    }
    expect(parsed.map((e) => e.level)).toEqual(expect.arrayContaining(['info', 'warn']))
    expect(parsed.map((e) => e.msg)).toEqual(expect.arrayContaining(['holding subnet', 'stopping']))
  }, 60_000)

  it('prints no ANSI escapes without a terminal or with NO_COLOR, and colours only a terminal without NO_COLOR', async () => {
    const prefixes = uniquePrefixes('colour')
    const env = {...cliEnv(etcd().endpoint, prefixes), TERM: 'xterm', NO_COLOR: undefined, FORCE_COLOR: undefined}
    const missing = await runCli(['network', 'show'], {env})
    expect(missing.exitCode).toBe(3)
    expect((await runCli(['network', 'init', '--network', '10.22.0.0/16'], {env})).exitCode).toBe(0)
    const piped = [
      missing,
      await runCli(['network', 'show'], {env}),
      await runCli(['subnet', 'list'], {env}),
      await runCli(['network', 'show', '--help'], {env}),
      await runCli(['network', 'show', '--bogus'], {env}),
    ]
    for (const result of piped) {
      expect(result.stdout + result.stderr).not.toBe('')
      expect(result.stdout).not.toMatch(ANSI)
      expect(result.stderr).not.toMatch(ANSI)
    }
    // On a terminal the same commands are coloured, so the checks above can see colour...
    const tty = await runCliOnTty(['network', 'show'], env)
    expect(tty.exitCode).toBe(0)
    expect(tty.stdout).toMatch(ANSI)
    // oclif colours its help through supports-color, which turns colour off whenever CI is set.
    expect(await runCliOnTty(['network', 'show', '--help'], {...env, CI: undefined})).toMatchObject({stdout: expect.stringMatching(ANSI)})
    // ...and NO_COLOR takes it away there too.
    for (const args of [['network', 'show'], ['network', 'show', '--help'], ['subnet', 'list'], ['network', 'show', '--bogus']]) {
      const result = await runCliOnTty(args, {...env, NO_COLOR: '1'})
      expect(result.stdout).not.toBe('')
      expect(result.stdout).not.toMatch(ANSI)
    }
  }, 60_000)
})
