import {describe, expect, it, jest} from '@jest/globals'
import {Scheduler} from '../../src/health/scheduler.js'

describe('check scheduler', () => {
  it('starts each task at a random offset within its interval, then on its own grid (fake clock)', async () => {
    jest.useFakeTimers()
    try {
      const starts = new Map<string, number[]>()
      const t0 = Date.now()
      const offsets = [0.1, 0.5, 0.9]
      let i = 0
      const scheduler = new Scheduler({concurrency: 10, random: () => offsets[i++ % offsets.length]!, now: () => Date.now()})
      for (const id of ['a', 'b', 'c']) {
        scheduler.add(id, 200, async () => {
          starts.set(id, [...(starts.get(id) ?? []), Date.now() - t0])
        })
      }
      await jest.advanceTimersByTimeAsync(700)
      await scheduler.stop()
      expect(starts.get('a')).toEqual([20, 220, 420, 620])
      expect(starts.get('b')).toEqual([100, 300, 500, 700])
      expect(starts.get('c')).toEqual([180, 380, 580])
    } finally {
      jest.useRealTimers()
    }
  })

  /** Runs a test body on jest's fake clock, with the scheduler reading the same clock. */
  async function onFakeClock(body: () => Promise<void>): Promise<void> {
    jest.useFakeTimers()
    try {
      await body()
    } finally {
      jest.useRealTimers()
    }
  }
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

  it('never runs a task twice at once, skipping the slots it overran (fake clock)', () =>
    onFakeClock(async () => {
      let running = 0
      let maxRunning = 0
      const starts: number[] = []
      const t0 = Date.now()
      const scheduler = new Scheduler({concurrency: 10, random: () => 0, now: () => Date.now()})
      scheduler.add('slow', 50, async () => {
        running++
        starts.push(Date.now() - t0)
        maxRunning = Math.max(maxRunning, running)
        await sleep(130)
        running--
      })
      // At 590 ms the run that started at 450 ms has ended and none is going.
      await jest.advanceTimersByTimeAsync(590)
      const stats = scheduler.snapshot()
      await scheduler.stop()
      expect(maxRunning).toBe(1)
      // Every 50 ms slot while a 130 ms run is going is skipped; the next run starts on the grid.
      expect(starts).toEqual([0, 150, 300, 450])
      expect(stats.skipped).toBe(8)
    }))

  it('holds at most `concurrency` tasks running, and aborts them on stop (fake clock)', () =>
    onFakeClock(async () => {
      let running = 0
      let maxRunning = 0
      let aborted = 0
      let finished = 0
      const scheduler = new Scheduler({concurrency: 3, random: () => 0, now: () => Date.now()})
      for (let i = 0; i < 10; i++) {
        scheduler.add(`t${i}`, 1000, async (stop) => {
          running++
          maxRunning = Math.max(maxRunning, running)
          await new Promise<void>((resolve) => {
            let done = false
            const timer = setTimeout(() => {
              done = true
              finished++
              resolve()
            }, 40)
            stop.addEventListener('abort', () => {
              if (done) return
              aborted++
              clearTimeout(timer)
              resolve()
            })
          })
          running--
        })
      }
      await jest.advanceTimersByTimeAsync(60)
      // Three ran 0-40 ms, the next three from 40 ms are still running at 60 ms.
      expect({maxRunning, finished, running}).toEqual({maxRunning: 3, finished: 3, running: 3})
      await scheduler.stop()
      expect({aborted, running}).toEqual({aborted: 3, running: 0})
    }))

  it('removes a task (fake clock)', () =>
    onFakeClock(async () => {
      let runs = 0
      const scheduler = new Scheduler({concurrency: 1, random: () => 0, now: () => Date.now()})
      scheduler.add('x', 30, async () => void runs++)
      await jest.advanceTimersByTimeAsync(50)
      scheduler.remove('x')
      expect(runs).toBe(2)
      await jest.advanceTimersByTimeAsync(100)
      await scheduler.stop()
      expect(runs).toBe(2)
    }))
})
