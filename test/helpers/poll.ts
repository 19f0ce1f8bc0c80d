/**
 * The one way integration tests wait for something that happens in another process or
 * in etcd: ask again every `intervalMs` until `probe` gives a value that is not
 * undefined, null or false, and return that value. Past `timeoutMs` it fails with a
 * message naming what was awaited and the last value seen, instead of a fixed sleep
 * that is either too short on a busy machine or too long on a quiet one.
 */
export interface WaitOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number
  /** Time between probes (default 50 ms). */
  intervalMs?: number
}

export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError'
}

type Truthy<T> = Exclude<T, undefined | null | false>

export async function waitFor<T>(what: string, probe: () => T | Promise<T>, options: WaitOptions = {}): Promise<Truthy<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000
  const intervalMs = options.intervalMs ?? 50
  const deadline = Date.now() + timeoutMs
  let last: unknown = undefined
  let lastError: unknown = undefined
  for (;;) {
    try {
      last = await probe()
      lastError = undefined
      if (last !== undefined && last !== null && last !== false) return last as Truthy<T>
    } catch (error) {
      // A probe may fail while the thing is not there yet (a port not open, a key absent).
      lastError = error
    }
    if (Date.now() >= deadline) {
      const seen = lastError !== undefined ? `the probe failed: ${(lastError as Error)?.message ?? lastError}` : `last value ${describe(last)}`
      throw new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what} (${seen})`)
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now()))))
  }
}

/** waitFor with a predicate: reads until `ok` holds for the value read, and returns that value (which may be falsy). */
export async function waitUntil<T>(what: string, read: () => T | Promise<T>, ok: (value: T) => boolean, timeoutMs?: number): Promise<T> {
  const [value] = await waitFor(
    what,
    async () => {
      const value = await read()
      return ok(value) && ([value] as const)
    },
    {timeoutMs},
  )
  return value
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 300 ? value.slice(0, 300) + '...' : value)
  try {
    const text = JSON.stringify(value)
    if (text === undefined) return String(value)
    return text.length > 300 ? text.slice(0, 300) + '...' : text
  } catch {
    return String(value)
  }
}
