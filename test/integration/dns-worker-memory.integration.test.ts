import {describe, expect, it} from '@jest/globals'
import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {workerMemoryEnv} from '../../src/dns/worker-memory.js'

/** The kernel's transparent huge page mode: always, madvise or never (a kernel built without them has no such file). */
function hugePageMode(): string {
  const setting = existsSync(THP_SETTING) ? readFileSync(THP_SETTING, 'utf8') : ''
  return /\[(\w+)\]/.exec(setting)?.[1] ?? 'never'
}

const THP_SETTING = '/sys/kernel/mm/transparent_hugepage/enabled'

/** Huge pages, in kB, behind a 16 MB buffer filled by a node started with these glibc tunables. */
function hugePagesOfABigBuffer(tunables: string | undefined): number {
  const script = `const b = Buffer.allocUnsafe(16 << 20); b.fill(1)
    console.log(/AnonHugePages:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/smaps_rollup', 'utf8'))[1])`
  const env = {...process.env}
  delete env.GLIBC_TUNABLES
  if (tunables !== undefined) env.GLIBC_TUNABLES = tunables
  return Number(execFileSync(process.execPath, ['-e', script], {encoding: 'utf8', env}).trim())
}

describe('a dns worker\'s glibc tunables', () => {
  // glibc rewrites GLIBC_TUNABLES in the process's own environment as it reads it (only the
  // first tunable stays visible in /proc/PID/environ), so what the tunables do is checked.
  it('give a listing-sized block transparent huge pages wherever the kernel allows them on request', () => {
    const tunables = workerMemoryEnv({}).GLIBC_TUNABLES
    expect(tunables).toBeDefined()
    const mode = hugePageMode()
    const withTunables = hugePagesOfABigBuffer(tunables)
    if (mode === 'never') expect(withTunables).toBe(0)
    // Most of the 16 MB: the mapping's ends need not fall on 2 MB boundaries.
    else expect(withTunables).toBeGreaterThanOrEqual(8 * 1024)
    // Without them, only a kernel that gives huge pages to every mapping does.
    if (mode === 'madvise') expect(hugePagesOfABigBuffer(undefined)).toBe(0)
  })
})
