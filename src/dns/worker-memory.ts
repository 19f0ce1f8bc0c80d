/**
 * The memory settings a `dns serve` worker starts with, so that it gives back the
 * memory a big listing passed through. Each worker holds the whole registry, so at
 * 100,000 instances what a worker keeps beyond its live data is paid once per core.
 *
 * A listing arrives as gRPC replies of up to 8 MB (TARGET_PAGE_BYTES), each copied into
 * one buffer. glibc's mmap threshold grows past such a block the first time one is freed,
 * so the later ones are put in its main heap; freed there between smaller blocks that
 * stay, they cannot be given back, and a worker kept 25-40 MB of them resident after
 * its load (docs/scale.md has the pairs). Fixed at 1 MiB, blocks that big get mappings
 * of their own and are returned when freed, while everything a query touches (a UDP or
 * TCP read takes 64 KiB) stays in the heap: a lower threshold (64 KiB was tried) put
 * every socket read in a mapping of its own.
 *
 * The same blocks are asked for transparent huge pages (glibc's `hugetlb` tunable: an
 * madvise on each mapping, which the kernel honours when its THP mode is `madvise` or
 * `always`). Each of a listing's blocks is fresh memory, so every 4 KB page of it faulted
 * on the copy that fills it; a 2 MB page takes one fault. At 100,000 instances the first
 * worker took 28,000 faults to its first answer instead of 49,000, and 0.84x the CPU
 * (docs/scale.md). Freed, a block is still unmapped whole.
 *
 * V8's young generation is the other such memory. Reading a listing allocates fast, and
 * V8 grows its semi-spaces to their largest (16 MB) for it; the young generation then
 * stays resident at that size, some 30 MB per worker, until V8 sees allocation stay low
 * for seconds (about 40 s after a load, as measured). Capped at
 * WORKER_SEMI_SPACE_MB, the young generation stays a few MB; what a query allocates dies
 * young just the same, only collected more often.
 *
 * Whatever the operator set for the same setting wins: glibc's in GLIBC_TUNABLES, V8's
 * in NODE_OPTIONS or on node's command line (the workers inherit both).
 */

/** Allocations this big and bigger get their own mapping in a worker. */
export const WORKER_MMAP_THRESHOLD = 1 << 20

/** glibc's tunable for transparent huge pages on the blocks it maps (1: madvise them). */
export const WORKER_HUGE_PAGES_TUNABLE = 'glibc.malloc.hugetlb=1'

/** The largest semi-space of a worker's V8 young generation, in MB (V8's own default: 16). */
export const WORKER_SEMI_SPACE_MB = 2

/** How a worker's node is told WORKER_SEMI_SPACE_MB (also the options the build makes a code cache for: scripts/write-code-caches.mjs). */
export const WORKER_SEMI_SPACE_OPTION = `--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`

const SEMI_SPACE_FLAG = /(^|\s)--max[-_]semi[-_]space[-_]size(=|\s|$)/

/**
 * The variables a worker's environment gets on top of the primary's, given the primary's
 * environment and node's own flags (process.execArgv).
 */
export function workerMemoryEnv(env: NodeJS.ProcessEnv, execArgv: readonly string[] = []): Record<string, string> {
  const added: Record<string, string> = {}
  const tunables = env.GLIBC_TUNABLES ?? ''
  const addedTunables = [
    /(^|:)glibc\.malloc\.mmap_threshold=/.test(tunables) ? '' : `glibc.malloc.mmap_threshold=${WORKER_MMAP_THRESHOLD}`,
    /(^|:)glibc\.malloc\.hugetlb=/.test(tunables) ? '' : WORKER_HUGE_PAGES_TUNABLE,
  ].filter(Boolean)
  if (addedTunables.length) added.GLIBC_TUNABLES = [tunables, ...addedTunables].filter(Boolean).join(':')
  const nodeOptions = env.NODE_OPTIONS ?? ''
  if (!SEMI_SPACE_FLAG.test(nodeOptions) && !execArgv.some((arg) => SEMI_SPACE_FLAG.test(arg))) added.NODE_OPTIONS = [nodeOptions, WORKER_SEMI_SPACE_OPTION].filter(Boolean).join(' ')
  return added
}
