import {existsSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {describe, expect, it} from '@jest/globals'
import {startEtcd} from '../helpers/etcd.js'

/** The harness itself: what it starts it stops, and what it makes it removes. */
describe('the etcd test harness', () => {
  it('destroy stops the member and removes the whole temporary directory it made, and nothing beside it', async () => {
    const member = await startEtcd({name: 'harness'})
    const made = dirname(member.dataDir)
    expect(dirname(made)).toBe(tmpdir())
    expect(readdirSync(made)).toEqual(['data'])
    const beside = mkdtempSync(join(tmpdir(), 'cnet-harness-'))
    const pid = member.pid!
    try {
      await member.destroy()
      expect(existsSync(made)).toBe(false)
      expect(existsSync(beside)).toBe(true)
      expect(() => process.kill(pid, 0)).toThrow()
    } finally {
      rmSync(beside, {recursive: true, force: true})
    }
  }, 30_000)

  it('keeps a data directory the caller gave', async () => {
    const own = mkdtempSync(join(tmpdir(), 'cnet-harness-'))
    try {
      const member = await startEtcd({name: 'given', dataDir: join(own, 'data')})
      await member.destroy()
      expect(readdirSync(own)).toEqual(['data'])
      expect(existsSync(join(own, 'data', 'member'))).toBe(true)
    } finally {
      rmSync(own, {recursive: true, force: true})
    }
  }, 30_000)
})
