import {describe, expect, it} from '@jest/globals'
import {WORKER_MMAP_THRESHOLD, WORKER_SEMI_SPACE_MB, workerMemoryEnv} from '../../src/dns/worker-memory.js'

describe('a dns worker gives back the memory a big listing passed through', () => {
  it('fixes glibc mmap threshold at 1 MiB (above a socket read, 64 KiB; below a listing page) and caps V8 semi-spaces at 2 MB', () => {
    expect(WORKER_MMAP_THRESHOLD).toBe(1_048_576)
    expect(WORKER_SEMI_SPACE_MB).toBe(2)
    expect(workerMemoryEnv({})).toEqual({GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=1048576', NODE_OPTIONS: '--max-semi-space-size=2'})
  })

  it('adds to the tunables and node options the operator set and keeps them', () => {
    expect(workerMemoryEnv({GLIBC_TUNABLES: 'glibc.malloc.arena_max=2', NODE_OPTIONS: '--max-old-space-size=512'})).toEqual({
      GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=1048576',
      NODE_OPTIONS: '--max-old-space-size=512 --max-semi-space-size=2',
    })
  })

  it('leaves a threshold the operator set alone', () => {
    expect(workerMemoryEnv({GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=65536'})).not.toHaveProperty('GLIBC_TUNABLES')
    expect(workerMemoryEnv({GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=4096'})).not.toHaveProperty('GLIBC_TUNABLES')
  })

  it('leaves a semi-space size the operator set alone, in NODE_OPTIONS or on node\'s command line, in any spelling node takes', () => {
    expect(workerMemoryEnv({NODE_OPTIONS: '--max-semi-space-size=16'})).not.toHaveProperty('NODE_OPTIONS')
    expect(workerMemoryEnv({NODE_OPTIONS: '--inspect --max_semi_space_size 8'})).not.toHaveProperty('NODE_OPTIONS')
    expect(workerMemoryEnv({}, ['--max-semi-space-size=32'])).not.toHaveProperty('NODE_OPTIONS')
    // a flag that only starts alike is not the same setting
    expect(workerMemoryEnv({NODE_OPTIONS: '--max-semi-space-size-x=1'})).toHaveProperty('NODE_OPTIONS', '--max-semi-space-size-x=1 --max-semi-space-size=2')
  })
})
