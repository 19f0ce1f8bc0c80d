import {sleepUnlessAborted} from './abort.js'

/**
 * The one retry policy of cnet: capped exponential backoff with jitter. The n-th
 * consecutive failure (1-based) waits a random time between half and all of
 * min(initialMs * 2^(n-1), maxMs): the ceiling doubles up to the cap, and the jitter
 * keeps many hosts that failed together (an etcd outage) from retrying together.
 * Every daemon loop that retries (the store, the watch, the health writer, the DNS
 * index, a crashed DNS worker) goes through this module. Pure where it can be: the
 * random source (returning [0, 1)) and the sleep are parameters.
 */
export interface RetryPolicy {
  initialMs: number
  maxMs: number
}

/** etcd away, a command failing: retry soon, then every 10 s at most. */
export const DEFAULT_RETRY: RetryPolicy = {initialMs: 500, maxMs: 10_000}

export function backoffCeilingMs(failures: number, policy: RetryPolicy): number {
  const doublings = Math.min(Math.max(0, failures - 1), 30)
  return Math.min(policy.maxMs, policy.initialMs * 2 ** doublings)
}

export function backoffDelayMs(failures: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = backoffCeilingMs(failures, policy)
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}

/** Counts failures in a row and says how long to wait after each; a success resets it. */
export class Backoff {
  failures = 0

  constructor(readonly policy: RetryPolicy = DEFAULT_RETRY, private readonly random: () => number = Math.random) {}

  /** Records one more failure and returns the wait before the next attempt. */
  nextDelayMs(): number {
    this.failures++
    return backoffDelayMs(this.failures, this.policy, this.random)
  }

  reset(): void {
    this.failures = 0
  }
}

export interface RetryOptions {
  policy?: RetryPolicy
  /** Stops retrying (the call resolves undefined). */
  signal?: AbortSignal
  /** Errors that are worth another attempt; anything else is thrown at once (default: all). */
  retryable?: (error: unknown) => boolean
  /** Told about each failure before the wait. */
  onRetry?: (error: unknown, delayMs: number, failures: number) => void
  random?: () => number
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
}

/**
 * Runs `attempt` until it succeeds, waiting by the policy between failures. A failure
 * `retryable` rejects is thrown; a stop signal ends it with undefined.
 */
export async function retry<T>(attempt: (failures: number) => Promise<T>, options: RetryOptions = {}): Promise<T | undefined> {
  const backoff = new Backoff(options.policy, options.random)
  const signal = options.signal ?? new AbortController().signal
  const sleep = options.sleep ?? sleepUnlessAborted
  while (!signal.aborted) {
    try {
      return await attempt(backoff.failures)
    } catch (error) {
      if (options.retryable && !options.retryable(error)) throw error
      const delay = backoff.nextDelayMs()
      options.onRetry?.(error, delay, backoff.failures)
      await sleep(delay, signal)
    }
  }
  return undefined
}
