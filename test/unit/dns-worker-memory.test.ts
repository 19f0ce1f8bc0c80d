import {describe, expect, it} from '@jest/globals'
import {WORKER_MMAP_THRESHOLD, workerMemoryEnv} from '../../src/dns/worker-memory.js'

describe('a dns worker gives back the buffers a big listing passed through', () => {
  it('fixes glibc mmap threshold at 1 MiB: above a socket read (64 KiB), below a listing page', () => {
    expect(WORKER_MMAP_THRESHOLD).toBe(1_048_576)
    expect(workerMemoryEnv({})).toEqual({GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=1048576'})
  })

  it('adds to the tunables the operator set and keeps them', () => {
    expect(workerMemoryEnv({GLIBC_TUNABLES: 'glibc.malloc.arena_max=2'})).toEqual({GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=1048576'})
  })

  it('leaves a threshold the operator set alone', () => {
    expect(workerMemoryEnv({GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=65536'})).toEqual({})
    expect(workerMemoryEnv({GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=4096'})).toEqual({})
  })
})
