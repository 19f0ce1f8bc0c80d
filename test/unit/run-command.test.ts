import {describe, expect, it} from '@jest/globals'
import {SystemCommandError} from '../../src/lib/errors.js'
import {runCommand} from '../../src/lib/run-command.js'

/** The one subprocess runner, against real short-lived processes (sh, cat, sleep). */
describe('runCommand', () => {
  it('gives back stdout, stderr and the exit code, unchanged (final newline kept)', async () => {
    const run = await runCommand('sh', ['-c', 'echo out; echo err >&2; exit 3'], {allowFailure: true})
    expect(run).toMatchObject({stdout: 'out\n', stderr: 'err\n', all: '', exitCode: 3, timedOut: false, canceled: false, signal: undefined, startError: undefined})
    expect(run.durationMs).toBeGreaterThanOrEqual(0)
  })

  it('throws one typed error naming the command, its exit code and its stderr', async () => {
    const failure = runCommand('sh', ['-c', 'echo first >&2; echo why >&2; exit 4'], {component: 'vxlan'})
    await expect(failure).rejects.toBeInstanceOf(SystemCommandError)
    await expect(failure).rejects.toMatchObject({
      message: expect.stringMatching(/^vxlan: sh -c echo first .*: exited 4 after \d+ ms: first \| why$/),
      failure: {command: ['sh', '-c', 'echo first >&2; echo why >&2; exit 4'], exitCode: 4, stderr: 'first\nwhy\n', timedOut: false},
    })
  })

  it('feeds input on stdin; without input, stdin is empty', async () => {
    expect((await runCommand('cat', [], {input: 'a\nb'})).stdout).toBe('a\nb')
    expect((await runCommand('cat', [])).stdout).toBe('')
  })

  it('a command that exits without reading a large input is not an error', async () => {
    expect((await runCommand('sh', ['-c', 'exit 0'], {input: 'x'.repeat(1 << 21)})).exitCode).toBe(0)
  })

  it.each([
    ['adds env to this process’s environment', {env: {CNET_T: 'one'}}, 'one|x'],
    ['passes env alone with extendEnv false', {env: {CNET_T: 'two'}, extendEnv: false}, 'two|unset'],
    ['passes this process’s environment without env', {}, '|x'],
  ])('%s', async (_label, options, expected) => {
    process.env.CNET_RUN_COMMAND_TEST = 'x'
    try {
      const run = await runCommand('/bin/sh', ['-c', 'printf "%s|%s" "$CNET_T" "${CNET_RUN_COMMAND_TEST-unset}"'], options)
      expect(run.stdout).toBe(expected)
    } finally {
      delete process.env.CNET_RUN_COMMAND_TEST
    }
  })

  it('kills a command that outlives its timeout, even when a child of it holds its output open', async () => {
    // The backgrounded sleep keeps the output pipe open far past jest's own timeout: waiting for it would fail the test.
    const run = await runCommand('sh', ['-c', 'sleep 300 & echo $!; sleep 300'], {timeoutMs: 300, allowFailure: true})
    process.kill(Number(run.stdout.trim()), 'SIGKILL')
    expect(run).toMatchObject({stdout: expect.stringMatching(/^\d+\n$/), exitCode: undefined, timedOut: true, signal: 'SIGKILL'})
    await expect(runCommand('sleep', ['300'], {timeoutMs: 200})).rejects.toThrow(/^sleep 300: did not finish within 200 ms and was killed$/)
  })

  it('reports a command that cannot be started, without a process to wait for', async () => {
    const run = await runCommand('cnet-no-such-command', [], {allowFailure: true})
    expect(run).toMatchObject({exitCode: undefined, timedOut: false, startError: expect.stringContaining('ENOENT')})
    await expect(runCommand('cnet-no-such-command', ['x'])).rejects.toThrow(/^cnet-no-such-command x: could not be run: .*ENOENT/)
    await expect(runCommand('sh', ['a\0b'])).rejects.toThrow(/could not be run/)
  })

  it('reports the signal that ended a command', async () => {
    const run = await runCommand('sh', ['-c', 'kill -TERM $$'], {allowFailure: true})
    expect(run).toMatchObject({exitCode: undefined, signal: 'SIGTERM', timedOut: false, canceled: false})
    await expect(runCommand('sh', ['-c', 'kill -TERM $$'])).rejects.toThrow(/was killed by SIGTERM$/)
  })

  it('an abort kills the command; an aborted signal starts nothing', async () => {
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 100)
    const run = await runCommand('sleep', ['300'], {signal: controller.signal, allowFailure: true})
    expect(run).toMatchObject({canceled: true, timedOut: false, exitCode: undefined})
    await expect(runCommand('sleep', ['300'], {signal: controller.signal})).rejects.toThrow(/was cancelled$/)
  })

  it('caps each stream at maxOutputBytes and still reads to the end', async () => {
    const run = await runCommand('sh', ['-c', 'head -c 300000 /dev/zero | tr "\\0" a; echo done >&2'], {maxOutputBytes: 1000})
    expect(run.stdout).toBe('a'.repeat(1000))
    expect(run.stderr).toBe('done\n')
  })

  it('interleaves stdout and stderr in `all` when asked', async () => {
    const run = await runCommand('sh', ['-c', 'echo a; sleep 0.05; echo b >&2; sleep 0.05; echo c'], {all: true})
    expect(run.all).toBe('a\nb\nc\n')
  })

  it('cuts a long command line in its error message', async () => {
    const long = 'x'.repeat(300)
    await expect(runCommand('sh', ['-c', 'exit 1', long])).rejects.toThrow(/^sh -c exit 1 x{180,}\.\.\.: exited 1/)
  })
})
