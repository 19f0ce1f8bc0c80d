/**
 * How a `dns serve` worker's process is started so that it keeps less memory resident
 * once its registry is loaded. Each worker holds the whole registry, so at 100,000
 * instances what a worker keeps beyond its live data is paid once per core.
 *
 * Measured on a worker that had just loaded 100,000 instances (docs/scale.md): of some
 * 200 MB resident, 60 MB was live data; the rest was
 * - V8's young generation, grown to its largest while the listing was parsed and kept
 *   resident afterwards (a DNS server allocates little that lives): capped at 2 MB a
 *   half-space it gives back some 25 MB, and the start is no slower;
 * - the C allocator's main heap, where the gRPC reply buffers of 64 KB and more had
 *   been put and, freed in between smaller blocks that stayed, could not be given back:
 *   with those allocated in their own mappings (glibc's mmap threshold fixed at 64 KB;
 *   by default it grows past them) they are returned when freed, another 25 MB.
 *   Fixing it lower returns more, but each smaller block then costs a mapping and its
 *   page faults, and the start took twice as long.
 *
 * Whatever the operator set in NODE_OPTIONS or GLIBC_TUNABLES for the same setting wins.
 */

/** V8's young-generation half-space for a worker, in MB (Node 20's default grows to 16). */
export const WORKER_SEMI_SPACE_MB = 2
/** Allocations this big and bigger get their own mapping in a worker (glibc's default threshold grows to 32 MB). */
export const WORKER_MMAP_THRESHOLD = 65_536

export interface WorkerProcessSettings {
  /** Node options for the worker, after the primary's own. */
  execArgv: string[]
  /** Variables to set in the worker's environment. */
  env: Record<string, string>
}

/** A worker's process settings, given the primary's environment and Node options. */
export function workerProcessSettings(env: NodeJS.ProcessEnv, execArgv: readonly string[]): WorkerProcessSettings {
  const nodeOptions = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)]
  const semiSpaceSet = nodeOptions.some((option) => /^--max[-_]semi[-_]space[-_]size(=|$)/.test(option))
  const tunables = env.GLIBC_TUNABLES ?? ''
  const thresholdSet = /(^|:)glibc\.malloc\.mmap_threshold=/.test(tunables)
  return {
    execArgv: [...execArgv, ...(semiSpaceSet ? [] : [`--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`])],
    env: thresholdSet ? {} : {GLIBC_TUNABLES: [tunables, `glibc.malloc.mmap_threshold=${WORKER_MMAP_THRESHOLD}`].filter(Boolean).join(':')},
  }
}
