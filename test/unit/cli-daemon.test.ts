import {describe, expect, it} from '@jest/globals'
import {runUntilSignal} from '../../src/cli/daemon.js'
import {createLogger} from '../../src/lib/log.js'

// runUntilSignal with a fake exit: signals are emitted on this process, which has no
// other SIGTERM/SIGINT listener of cnet's.

const setup = () => {
  const lines: string[] = []
  const exits: (number | undefined)[] = []
  const logger = createLogger({level: 'debug', format: 'json', sink: (line) => lines.push(line)})
  const messages = () => lines.map((l) => JSON.parse(l) as {level: string; msg: string; signal?: string})
  return {logger, exits, exit: (code?: number) => void exits.push(code), messages}
}
const listeners = () => [process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')]

describe('runUntilSignal', () => {
  it('returns what the job returns and leaves no signal handler behind', async () => {
    const {logger, exit, exits} = setup()
    const before = listeners()
    const result = await runUntilSignal(logger, async (stop) => (stop.aborted ? 'aborted' : 'done'), {exit})
    expect(result).toBe('done')
    expect(listeners()).toEqual(before)
    expect(exits).toEqual([])
  })

  it.each(['SIGTERM', 'SIGINT'] as const)('%s aborts the job, which finishes cleanly', async (signal) => {
    const {logger, exit, exits, messages} = setup()
    const result = runUntilSignal(
      logger,
      (stop) => new Promise<string>((resolve) => stop.addEventListener('abort', () => resolve(`stopped by ${String(stop.reason)}`))),
      {exit},
    )
    await new Promise((resolve) => setImmediate(resolve))
    process.emit(signal, signal)
    await expect(result).resolves.toBe(`stopped by ${signal}`)
    expect(messages()).toEqual([{level: 'info', component: 'cnet', msg: 'stopping', signal, time: expect.any(String)}])
    expect(exits).toEqual([])
  })

  it('a second signal exits 130 at once; a stop past its deadline exits 1', async () => {
    const {logger, exit, exits, messages} = setup()
    let finish: () => void = () => {}
    const done = runUntilSignal(logger, () => new Promise<void>((resolve) => (finish = resolve)), {exit, stopDeadlineMs: 30})
    await new Promise((resolve) => setImmediate(resolve))
    process.emit('SIGTERM', 'SIGTERM')
    process.emit('SIGINT', 'SIGINT')
    expect(exits).toEqual([130])
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect(exits).toEqual([130, 1])
    expect(messages().map((m) => [m.level, m.msg])).toEqual([
      ['info', 'stopping'],
      ['warn', 'second signal: exiting now'],
      ['error', 'could not stop cleanly in time: exiting now'],
    ])
    finish()
    await done
  })

  it('a job that fails passes its error on and leaves no handler behind', async () => {
    const {logger, exit} = setup()
    const before = listeners()
    await expect(runUntilSignal(logger, async () => Promise.reject(new Error('boom')), {exit})).rejects.toThrow('boom')
    expect(listeners()).toEqual(before)
  })
})
