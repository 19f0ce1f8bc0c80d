import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from '@jest/globals'
import {startDaemon} from '../../src/lab/daemons.js'

describe('lab daemons', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cnet-lab-daemons-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  it('a command that cannot be started is a system command failure (exit 6), not a crash', async () => {
    expect(() => startDaemon({name: 'ghost', command: '/nonexistent/cnet-no-such-binary', args: [], dir})).toThrow(
      expect.objectContaining({exitCode: 6, message: expect.stringContaining('could not start ghost')}),
    )
    // The spawn's own 'error' event comes after: it must not end this process.
    await new Promise((resolve) => setTimeout(resolve, 50))
  })
})
