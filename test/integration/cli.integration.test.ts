import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {openStore} from '../../src/store/index.js'
import {Keys} from '../../src/store/keys.js'
import type {Store} from '../../src/store/store.js'
import {cliEnv, runCli} from '../helpers/cli.js'
import {uniquePrefixes, useEtcd} from '../helpers/shared-etcd.js'

const STACK_FRAME = /^\s+at .+/m

describe('the CLI: internal errors, against a real etcd', () => {
  const etcd = useEtcd()
  let store: Store
  beforeAll(async () => {
    store = await openStore({endpoints: [etcd().endpoint]})
  })
  afterAll(async () => store?.close())

  /**
   * A programming error provoked through etcd: a health record whose output is a number
   * instead of text passes the record parser, and `svc list` then fails rendering it (a
   * TypeError, not a CnetError). The service is named "debug" so that `svc list debug`
   * has the word on its command line. Should the parser ever guard against this value,
   * this test needs another unguarded path (or a test-only hook) to provoke an internal error.
   */
  async function corruptHealth(): Promise<Record<string, string>> {
    const prefixes = uniquePrefixes('internal')
    const keys = new Keys(prefixes)
    const registration = {id: 'd1', name: 'debug', namespace: 'default', address: '10.0.0.1', port: 80, check: {type: 'http', url: 'http://10.0.0.1/', intervalMs: 10_000, timeoutMs: 1000}}
    await store.put(keys.service('default', 'debug', 'd1'), JSON.stringify(registration))
    await store.put(keys.health('default', 'debug', 'd1'), JSON.stringify({status: 'passing', output: 5}))
    return cliEnv(etcd().endpoint, prefixes)
  }

  const INTERNAL_LINE = /^cnet: internal error: .+ \(run with --log-level debug for the stack\)$/

  it('reports an internal error in one line on stderr, exit 70, without a stack (an argument named debug is not --log-level debug)', async () => {
    const env = await corruptHealth()
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
    const env = await corruptHealth()
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
    const env = await corruptHealth()
    const result = await runCli(['svc', 'list', '--json'], {env})
    expect(result.exitCode).toBe(70)
    expect(JSON.parse(result.stdout)).toEqual({error: {code: 'Error', message: expect.stringMatching(/^internal error: /), exitCode: 70}})
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1)
  })
})
