import {chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {Readable} from 'node:stream'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {delegateRunner} from '../../src/cni/delegate-exec.js'
import {loggerFromEnv, runCni} from '../../src/cni/main.js'
import {cleanupMasq} from '../../src/cni/masq-exec.js'
import {CniError} from '../../src/cni/spec.js'
import {readStdin} from '../../src/cni/stdin.js'
import type {CommandResult, runCommand} from '../../src/lib/run-command.js'

const SRC = fileURLToPath(new URL('../../src/', import.meta.url))

/** Every module a source file loads, following relative imports: bare specifiers come back as they are written. */
function importGraph(entry: string): {files: Set<string>; packages: Set<string>} {
  const files = new Set<string>()
  const packages = new Set<string>()
  const visit = (file: string) => {
    if (files.has(file)) return
    files.add(file)
    const text = readFileSync(file, 'utf8')
    // Type-only imports are erased by the compiler: they load nothing.
    for (const [, typeOnly, specifier] of text.matchAll(/^(?:import|export)\s+(type\s+)?[^'"]*?from\s+'([^']+)'/gm)) {
      if (typeOnly) continue
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')))
      else packages.add(specifier)
    }
  }
  visit(entry)
  return {files, packages}
}

describe("the plugin's own entry", () => {
  it('loads no package at all (no oclif, etcd client or process library), nor the store or the CLI', () => {
    const {files, packages} = importGraph(join(SRC, 'cni', 'main.ts'))
    expect([...packages].filter((name) => !name.startsWith('node:'))).toEqual([])
    expect([...files].map((file) => file.slice(SRC.length)).filter((file) => /^(cli|commands|store)\//.test(file))).toEqual([])
  })

  it.each([
    [{}, 'info'],
    [{CNET_LOG_LEVEL: 'debug', CNET_LOG_FORMAT: 'json'}, 'debug'],
    [{CNET_LOG_LEVEL: ''}, 'info'],
  ])('takes its log settings from %j', (env, level) => {
    expect(loggerFromEnv(env).level).toBe(level)
  })

  it.each([
    [{CNET_LOG_LEVEL: 'loud'}, /CNET_LOG_LEVEL "loud" is not one of debug, info, warn, error/],
    [{CNET_LOG_FORMAT: 'xml'}, /CNET_LOG_FORMAT "xml" is not one of text, json/],
  ])('refuses %j as the runtime’s environment (code 4)', async (env, message) => {
    expect(() => loggerFromEnv(env)).toThrow(CniError)
    const out = await runCni({CNI_COMMAND: 'VERSION', ...env}, '')
    expect(out.exitCode).toBe(1)
    expect(JSON.parse(out.stdout)).toMatchObject({code: 4, msg: expect.stringMatching(message)})
  })

  it('answers VERSION with the real dependencies', async () => {
    const out = await runCni({CNI_COMMAND: 'VERSION'}, '{"cniVersion":"1.0.0"}')
    expect(out).toEqual({stdout: '{"cniVersion":"1.0.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0"]}\n', exitCode: 0})
  })
})

describe('running the delegate', () => {
  let dir: string
  const script = (name: string, body: string) => {
    const file = join(dir, name)
    writeFileSync(file, `#!/bin/sh\n${body}\n`)
    chmodSync(file, 0o755)
    return file
  }
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cni-delegate-'))
  })
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  it('gives the plugin the config on stdin and only the environment it was handed', async () => {
    const echo = script('echo', 'printf "%s|%s|%s" "$(cat)" "$CNI_COMMAND" "${HOME:-none}"; echo oops >&2; exit 3')
    expect(await delegateRunner(5_000)(echo, '{"a":1}', {CNI_COMMAND: 'ADD', PATH: '/usr/bin:/bin'})).toEqual({stdout: '{"a":1}|ADD|none', stderr: 'oops\n', exitCode: 3})
  })

  it('a plugin that hangs is killed at the deadline and reported as "try again later" (code 11)', async () => {
    // Not killed, it would outlast the test's own timeout.
    const hang = script('hang', 'exec sleep 300')
    await expect(delegateRunner(300)(hang, '{}', {})).rejects.toMatchObject({code: 11, msg: expect.stringContaining('did not answer within 0.3 s')})
  })

  it('a plugin that cannot be run is code 102 with the reason', async () => {
    const notExecutable = join(dir, 'plain')
    writeFileSync(notExecutable, 'x')
    await expect(delegateRunner(5_000)(notExecutable, '{}', {})).rejects.toMatchObject({code: 102, msg: expect.stringContaining('could not be run'), details: expect.stringMatching(/EACCES/)})
  })

  it('a plugin killed by a signal is code 102', async () => {
    const killed = script('killed', 'kill -9 $$')
    await expect(delegateRunner(5_000)(killed, '{}', {})).rejects.toMatchObject({code: 102, details: expect.stringContaining('SIGKILL')})
  })
})

describe('stdin', () => {
  it('reads all of it, in chunks of bytes or text', async () => {
    const stream = Readable.from([Buffer.from('{"cniVersion":'), '"1.0.0"}']) as unknown as NodeJS.ReadStream
    expect(await readStdin(stream)).toBe('{"cniVersion":"1.0.0"}')
  })

  it('reads nothing from a terminal', async () => {
    expect(await readStdin({isTTY: true} as NodeJS.ReadStream)).toBe('')
  })
})

describe('leftover masquerade rules, as run', () => {
  const result = (stdout: string, exitCode: number | undefined = 0): CommandResult => ({stdout, stderr: '', all: '', exitCode, timedOut: false, canceled: false, signal: undefined, startError: undefined, durationMs: 1})
  const recorder = (save: CommandResult) => {
    const calls: {command: string; input?: string}[] = []
    const run = (async (command: string, _args: readonly string[], options: {input?: string} = {}) => {
      calls.push({command, input: options.input})
      return command === 'iptables-save' ? save : result('')
    }) as typeof runCommand
    return {calls, run}
  }
  const rule = '-A POSTROUTING -s 10.5.52.2/32 -m comment --comment "name: \\"cnet\\" id: \\"pod1\\"" -j CNI-0123456789abcdef01234567'

  it("restores the table without the container's rules, in one call", async () => {
    const {calls, run} = recorder(result(`*nat\n${rule}\nCOMMIT\n`))
    await cleanupMasq('cnet', 'pod1', run)
    expect(calls.map((c) => c.command)).toEqual(['iptables-save', 'iptables-restore'])
    expect(calls[1].input).toContain('-F CNI-0123456789abcdef01234567')
  })

  it.each([
    ['there is nothing of the container', result('*nat\nCOMMIT\n')],
    ['iptables is not there', result('', undefined)],
  ])('does nothing more when %s', async (_label, save) => {
    const {calls, run} = recorder(save)
    await cleanupMasq('cnet', 'pod1', run)
    expect(calls.map((c) => c.command)).toEqual(['iptables-save'])
  })
})
