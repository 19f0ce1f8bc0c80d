import {describe, expect, it} from '@jest/globals'
import {createLogger} from '../../src/lib/log.js'
import {execHandler} from '../../src/svc/handler-runner.js'

// `svc watch --exec`'s handler: a failing, hanging or missing command is logged and
// counted, never thrown.

const handler = (command: string[], timeoutMs = 5000) => {
  const lines: {level: string; msg: string; why?: string; stderr?: string}[] = []
  const logger = createLogger({level: 'debug', format: 'json', sink: (line) => lines.push(JSON.parse(line))})
  return {...execHandler({command, timeoutMs, logger}), lines}
}

describe('execHandler', () => {
  it('hands the JSON to the command on stdin', async () => {
    const h = handler(['sh', '-c', 'test "$(cat)" = \'{"n":1}\''])
    await h.run('{"n":1}')
    expect(h.stats).toEqual({runs: 1, failures: 0})
    expect(h.lines.map((l) => [l.level, l.msg])).toEqual([['debug', 'handler ran']])
  })

  it.each([
    [['sh', '-c', 'echo one >&2; echo two >&2; exit 3'], 5000, 'exit 3', 'one | two'],
    [['sleep', '5'], 100, 'killed after 100 ms', ''],
    [['/nonexistent/handler'], 5000, 'could not start: ', ''],
  ])('%j fails: counted and logged (%s)', async (command, timeoutMs, why, stderr) => {
    const h = handler(command, timeoutMs)
    await expect(h.run('{}')).resolves.toBeUndefined()
    expect(h.stats).toEqual({runs: 1, failures: 1})
    expect(h.lines).toHaveLength(1)
    expect(h.lines[0]).toMatchObject({level: 'warn', msg: 'handler failed; watching goes on', why: expect.stringContaining(why), stderr})
  })

  it('tells a command killed by a signal', async () => {
    const h = handler(['sh', '-c', 'kill -TERM $$'])
    await h.run('')
    expect(h.lines[0]).toMatchObject({level: 'warn', why: 'killed by SIGTERM'})
  })
})
