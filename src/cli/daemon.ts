import type {Logger} from '../lib/log.js'

export interface DaemonOptions {
  /** How long a stop may take after the first signal before the process exits 1. */
  stopDeadlineMs?: number
  /** How the process ends (process.exit; unit tests give a fake). */
  exit?: (code?: number) => void
}

/**
 * Runs a long-lived job (`--keep`, `--watch`, `serve`, `run`) until SIGTERM or
 * SIGINT. The job gets an AbortSignal that fires on the first signal and should
 * finish cleanly; a second signal exits at once. Returns what the job returns.
 */
export async function runUntilSignal<T>(logger: Logger, job: (stop: AbortSignal) => Promise<T>, options: DaemonOptions = {}): Promise<T> {
  const {stopDeadlineMs = STOP_DEADLINE_MS, exit = (code?: number) => process.exit(code)} = options
  const controller = new AbortController()
  let received: NodeJS.Signals | undefined
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) {
      logger.warn('second signal: exiting now', {signal})
      exit(130)
      return
    }
    received = signal
    logger.info('stopping', {signal})
    controller.abort(signal)
    // A clean stop is bounded: a call stuck on an unreachable etcd must not keep a
    // service manager waiting. Unref'd, so it never delays a stop that finishes.
    setTimeout(() => {
      logger.error('could not stop cleanly in time: exiting now', {afterMs: stopDeadlineMs})
      exit(1)
    }, stopDeadlineMs).unref()
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  // A pending promise does not keep Node running; this handle does, until the job ends.
  const holdOpen = setInterval(() => {}, 1 << 30)
  try {
    return await job(controller.signal)
  } finally {
    clearInterval(holdOpen)
    process.off('SIGTERM', onSignal)
    process.off('SIGINT', onSignal)
    // Stopped cleanly: a handle some library left open (a client still reconnecting)
    // must not turn that into the stop deadline's failure. Unref'd, so a process with
    // nothing left open exits on its own first.
    if (received) setTimeout(() => exit(), LINGER_AFTER_STOP_MS).unref()
  }
}

const LINGER_AFTER_STOP_MS = 3000

/** Long enough for every store call's own deadline, short of systemd's 90 s stop timeout. */
const STOP_DEADLINE_MS = 15_000
