import {describe, expect, it} from '@jest/globals'
import {WORKER_HUGE_PAGES_TUNABLE, WORKER_MMAP_THRESHOLD, WORKER_SEMI_SPACE_MB, workerMemoryEnv} from '../../src/dns/worker-memory.js'

describe('a dns worker gives back the memory a big listing passed through', () => {
  it('fixes glibc mmap threshold at 1 MiB (above a socket read, 64 KiB; below a listing page), asks huge pages for those mappings, and caps V8 semi-spaces at 2 MB', () => {
    expect(WORKER_MMAP_THRESHOLD).toBe(1_048_576)
    expect(WORKER_HUGE_PAGES_TUNABLE).toBe('glibc.malloc.hugetlb=1')
    expect(WORKER_SEMI_SPACE_MB).toBe(2)
    expect(workerMemoryEnv({})).toEqual({GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=1048576:glibc.malloc.hugetlb=1', NODE_OPTIONS: '--max-semi-space-size=2'})
  })

  it('adds to the tunables and node options the operator set and keeps them', () => {
    expect(workerMemoryEnv({GLIBC_TUNABLES: 'glibc.malloc.arena_max=2', NODE_OPTIONS: '--max-old-space-size=512'})).toEqual({
      GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=1048576:glibc.malloc.hugetlb=1',
      NODE_OPTIONS: '--max-old-space-size=512 --max-semi-space-size=2',
    })
  })

  it('leaves a threshold or a huge-page setting the operator set alone', () => {
    expect(workerMemoryEnv({GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=65536:glibc.malloc.hugetlb=0'})).not.toHaveProperty('GLIBC_TUNABLES')
    expect(workerMemoryEnv({GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=4096'})).toHaveProperty('GLIBC_TUNABLES', 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=4096:glibc.malloc.hugetlb=1')
    expect(workerMemoryEnv({GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0'})).toHaveProperty('GLIBC_TUNABLES', 'glibc.malloc.hugetlb=0:glibc.malloc.mmap_threshold=1048576')
  })

  it('leaves a semi-space size the operator set alone, in NODE_OPTIONS or on node\'s command line, in any spelling node takes', () => {
    expect(workerMemoryEnv({NODE_OPTIONS: '--max-semi-space-size=16'})).not.toHaveProperty('NODE_OPTIONS')
    expect(workerMemoryEnv({NODE_OPTIONS: '--inspect --max_semi_space_size 8'})).not.toHaveProperty('NODE_OPTIONS')
    expect(workerMemoryEnv({}, ['--max-semi-space-size=32'])).not.toHaveProperty('NODE_OPTIONS')
    // a flag that only starts alike is not the same setting
    expect(workerMemoryEnv({NODE_OPTIONS: '--max-semi-space-size-x=1'})).toHaveProperty('NODE_OPTIONS', '--max-semi-space-size-x=1 --max-semi-space-size=2')
  })
})
