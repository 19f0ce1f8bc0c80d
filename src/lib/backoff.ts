/**
 * Capped exponential backoff with jitter, for retrying something that does not answer.
 * The n-th consecutive failure (1-based) waits a random time between half and all of
 * min(initialMs * 2^(n-1), maxMs): the ceiling doubles up to the cap, and the jitter
 * keeps many clients that failed together from retrying together. Pure: the random
 * source (returning [0, 1)) is a parameter.
 */
export interface BackoffOptions {
  initialMs: number
  maxMs: number
}

export function backoffCeilingMs(failures: number, options: BackoffOptions): number {
  const doublings = Math.min(Math.max(0, failures - 1), 30)
  return Math.min(options.maxMs, options.initialMs * 2 ** doublings)
}

export function backoffDelayMs(failures: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = backoffCeilingMs(failures, options)
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}
