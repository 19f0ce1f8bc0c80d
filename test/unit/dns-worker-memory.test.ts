import {WORKER_MMAP_THRESHOLD, WORKER_SEMI_SPACE_MB, workerProcessSettings} from '../../src/dns/worker-memory.js'

describe('a dns worker process keeps less resident', () => {
  it('caps the young generation and fixes the allocator threshold by default, after the primary own node options', () => {
    expect(workerProcessSettings({}, ['--enable-source-maps'])).toEqual({
      execArgv: ['--enable-source-maps', `--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`],
      env: {GLIBC_TUNABLES: `glibc.malloc.mmap_threshold=${WORKER_MMAP_THRESHOLD}`},
    })
  })

  it('adds to the tunables the operator set and keeps them', () => {
    expect(workerProcessSettings({GLIBC_TUNABLES: 'glibc.malloc.arena_max=2'}, []).env).toEqual({GLIBC_TUNABLES: `glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=${WORKER_MMAP_THRESHOLD}`})
  })

  it.each([
    ['NODE_OPTIONS', {NODE_OPTIONS: '--max-old-space-size=512 --max-semi-space-size=8'}, []],
    ['NODE_OPTIONS, underscores', {NODE_OPTIONS: '--max_semi_space_size=8'}, []],
    ["the primary's own options", {}, ['--max-semi-space-size', '8']],
  ])('leaves the young generation to the operator when set in %s', (_where, env, execArgv) => {
    expect(workerProcessSettings(env, execArgv).execArgv).toEqual(execArgv)
  })

  it("leaves the allocator threshold to the operator's tunables", () => {
    expect(workerProcessSettings({GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=131072'}, []).env).toEqual({})
  })
})
