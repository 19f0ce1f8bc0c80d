import {setMaxListeners} from 'node:events'

/**
 * Runs periodic tasks from one timer over a min-heap of due times, so thousands of
 * checks cost one pending timer rather than thousands. Each task first runs at a
 * random offset within its interval (no thundering herd after a restart), then on its
 * own fixed grid; it never runs twice at once (a slot that finds it still running is
 * skipped), and at most `concurrency` tasks run at a time (the rest queue in order).
 */
export type Task = (stop: AbortSignal) => Promise<void>

export interface SchedulerOptions {
  concurrency: number
  random?: () => number
  now?: () => number
  /** Called as each run starts, with how late it is against its slot. */
  onStart?: (id: string, lateMs: number) => void
  /** A task that threw (tasks are expected to handle their own failures: this is a bug surfacing). */
  onError?: (id: string, error: unknown) => void
}

export interface SchedulerStats {
  started: number
  /** Slots skipped because the task's previous run had not finished. */
  skipped: number
  running: number
  queued: number
  tasks: number
}

interface Entry {
  id: string
  intervalMs: number
  task: Task
  dueAt: number
  running: boolean
  queuedSlot: number | undefined
  removed: boolean
}

export class Scheduler {
  private readonly heap: Entry[] = []
  private readonly entries = new Map<string, Entry>()
  private waiting: Entry[] = []
  private active = 0
  private timer: NodeJS.Timeout | undefined
  private timerAt = Infinity
  private readonly controller = new AbortController()
  private readonly inFlight = new Set<Promise<void>>()
  private readonly stats = {started: 0, skipped: 0}
  private readonly now: () => number
  private readonly random: () => number

  constructor(private readonly options: SchedulerOptions) {
    this.now = options.now ?? (() => performance.now())
    this.random = options.random ?? Math.random
    // Every running task listens on the one stop signal: hundreds at once is expected.
    setMaxListeners(0, this.controller.signal)
  }

  /** Adds a task (replacing one with the same id); its first run is at a random point of its first interval. */
  add(id: string, intervalMs: number, task: Task): void {
    // a zero, negative or non-number interval would spin the timer loop forever
    if (!(intervalMs >= 1)) throw new RangeError(`scheduler: interval of ${id} is ${intervalMs} ms`)
    this.remove(id)
    const entry: Entry = {id, intervalMs, task, dueAt: this.now() + this.random() * intervalMs, running: false, queuedSlot: undefined, removed: false}
    this.entries.set(id, entry)
    this.push(entry)
    this.arm()
  }

  /** Stops scheduling a task; a run in progress finishes (its stop signal is not fired). */
  remove(id: string): void {
    const entry = this.entries.get(id)
    if (!entry) return
    entry.removed = true
    this.entries.delete(id)
    if (entry.queuedSlot !== undefined) this.waiting = this.waiting.filter((e) => e !== entry)
  }

  has(id: string): boolean {
    return this.entries.has(id)
  }

  snapshot(): SchedulerStats {
    return {...this.stats, running: this.active, queued: this.waiting.length, tasks: this.entries.size}
  }

  /** Stops the timer, aborts running tasks and waits for them to finish. */
  async stop(): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    this.timerAt = -Infinity // never armed again
    for (const entry of this.entries.values()) entry.removed = true
    this.entries.clear()
    this.waiting = []
    this.controller.abort()
    await Promise.allSettled([...this.inFlight])
  }

  private arm(): void {
    const top = this.heap[0]
    if (!top || this.timerAt === -Infinity) return
    if (this.timer && this.timerAt <= top.dueAt) return
    clearTimeout(this.timer)
    this.timerAt = top.dueAt
    this.timer = setTimeout(() => this.fire(), Math.max(0, top.dueAt - this.now()))
  }

  private fire(): void {
    this.timer = undefined
    this.timerAt = Infinity
    const now = this.now()
    while (this.heap.length > 0 && this.heap[0].dueAt <= now) {
      const entry = this.pop()!
      if (entry.removed) continue
      const slot = entry.dueAt
      // The next slot on the task's own grid; slots missed while the loop was blocked are dropped.
      entry.dueAt = slot + entry.intervalMs
      if (entry.dueAt <= now) entry.dueAt += Math.ceil((now - entry.dueAt) / entry.intervalMs) * entry.intervalMs || entry.intervalMs
      this.push(entry)
      if (entry.running || entry.queuedSlot !== undefined) {
        this.stats.skipped++
        continue
      }
      if (this.active < this.options.concurrency) this.start(entry, slot)
      else {
        entry.queuedSlot = slot
        this.waiting.push(entry)
      }
    }
    this.arm()
  }

  private start(entry: Entry, slot: number): void {
    this.active++
    entry.running = true
    this.stats.started++
    this.options.onStart?.(entry.id, this.now() - slot)
    const run = entry
      .task(this.controller.signal)
      .catch((error: unknown) => this.options.onError?.(entry.id, error))
      .finally(() => {
        this.active--
        entry.running = false
        this.inFlight.delete(run)
        this.drain()
      })
    this.inFlight.add(run)
  }

  private drain(): void {
    while (this.active < this.options.concurrency && this.waiting.length > 0) {
      const entry = this.waiting.shift()!
      const slot = entry.queuedSlot!
      entry.queuedSlot = undefined
      if (!entry.removed) this.start(entry, slot)
    }
  }

  private push(entry: Entry): void {
    const heap = this.heap
    heap.push(entry)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (heap[parent].dueAt <= heap[i].dueAt) break
      ;[heap[parent], heap[i]] = [heap[i], heap[parent]]
      i = parent
    }
  }

  private pop(): Entry | undefined {
    const heap = this.heap
    const top = heap[0]
    const last = heap.pop()
    if (heap.length === 0 || !last) return top
    heap[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let smallest = i
      if (l < heap.length && heap[l].dueAt < heap[smallest].dueAt) smallest = l
      if (r < heap.length && heap[r].dueAt < heap[smallest].dueAt) smallest = r
      if (smallest === i) break
      ;[heap[smallest], heap[i]] = [heap[i], heap[smallest]]
      i = smallest
    }
    return top
  }
}
