/**
 * The C allocator setting a `dns serve` worker starts with, so that it gives back the
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
 * Whatever the operator set in GLIBC_TUNABLES for the same setting wins.
 */

/** Allocations this big and bigger get their own mapping in a worker. */
export const WORKER_MMAP_THRESHOLD = 1 << 20

/** The variables a worker's environment gets on top of the primary's, given the primary's. */
export function workerMemoryEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const tunables = env.GLIBC_TUNABLES ?? ''
  if (/(^|:)glibc\.malloc\.mmap_threshold=/.test(tunables)) return {}
  return {GLIBC_TUNABLES: [tunables, `glibc.malloc.mmap_threshold=${WORKER_MMAP_THRESHOLD}`].filter(Boolean).join(':')}
}
