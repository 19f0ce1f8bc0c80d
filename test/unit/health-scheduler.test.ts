import {describe, expect, it, jest} from '@jest/globals'
import {Scheduler} from '../../src/health/scheduler.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

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

  it('never runs a task twice at once, skipping the slots it overran', async () => {
    let running = 0
    let maxRunning = 0
    let runs = 0
    const scheduler = new Scheduler({concurrency: 10, random: () => 0})
    scheduler.add('slow', 50, async () => {
      running++
      runs++
      maxRunning = Math.max(maxRunning, running)
      await sleep(130)
      running--
    })
    await sleep(600)
    const stats = scheduler.snapshot()
    await scheduler.stop()
    expect(maxRunning).toBe(1)
    expect(runs).toBeGreaterThanOrEqual(3)
    expect(runs).toBeLessThanOrEqual(5)
    expect(stats.skipped).toBeGreaterThan(0)
  })

  it('holds at most `concurrency` tasks running, and aborts them on stop', async () => {
    let running = 0
    let maxRunning = 0
    let aborted = 0
    const scheduler = new Scheduler({concurrency: 3, random: () => 0})
    for (let i = 0; i < 10; i++) {
      scheduler.add(`t${i}`, 1000, async (stop) => {
        running++
        maxRunning = Math.max(maxRunning, running)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 40)
          stop.addEventListener('abort', () => {
            aborted++
            clearTimeout(timer)
            resolve()
          })
        })
        running--
      })
    }
    await sleep(60)
    await scheduler.stop()
    expect(maxRunning).toBe(3)
    expect(aborted).toBeGreaterThan(0)
    expect(running).toBe(0)
  })

  it('removes a task', async () => {
    let runs = 0
    const scheduler = new Scheduler({concurrency: 1, random: () => 0})
    scheduler.add('x', 30, async () => void runs++)
    await sleep(50)
    scheduler.remove('x')
    const after = runs
    await sleep(100)
    await scheduler.stop()
    expect(after).toBeGreaterThan(0)
    expect(runs).toBe(after)
  })
})
