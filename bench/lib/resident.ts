import {closeSync, openSync, readFileSync, readSync} from 'node:fs'

/**
 * The physical memory a group of processes holds, each page counted once: what a server
 * of several processes (dns serve's primary and workers) takes from the machine. Summing
 * their resident sizes instead counts every page they share once per process: Node's own
 * code (some 40 MB) is counted once per worker.
 *
 * Read from /proc/PID/pagemap, which gives the physical page behind each resident virtual
 * page; only root sees the page numbers. Returns undefined when they cannot be read.
 */
export function uniqueResidentMb(pids: readonly number[]): number | undefined {
  const pages = new Set<number>()
  for (const pid of pids) {
    if (!addResidentPages(pid, pages)) return undefined
  }
  return Math.round((pages.size * PAGE) / 1024 / 1024)
}

const PAGE = 4096
const PRESENT = 1n << 63n
const PFN_MASK = (1n << 55n) - 1n

/** Adds the physical page numbers of a process's resident pages; false when pagemap hides them. */
function addResidentPages(pid: number, pages: Set<number>): boolean {
  const ranges = residentRanges(pid)
  const fd = openSync(`/proc/${pid}/pagemap`, 'r')
  let sawPresent = false
  let sawFrame = false
  try {
    for (const [start, end] of ranges) {
      const count = (end - start) / PAGE
      const buffer = Buffer.alloc(count * 8)
      const read = readSync(fd, buffer, 0, buffer.length, (start / PAGE) * 8)
      const entries = new BigUint64Array(buffer.buffer, buffer.byteOffset, read / 8)
      for (const entry of entries) {
        if (!(entry & PRESENT)) continue
        sawPresent = true
        const frame = Number(entry & PFN_MASK)
        if (frame) sawFrame = true
        pages.add(frame)
      }
    }
  } finally {
    closeSync(fd)
  }
  return sawFrame || !sawPresent
}

/** The address ranges of a process's mappings that have any page resident (from smaps). */
function residentRanges(pid: number): [number, number][] {
  const ranges: [number, number][] = []
  let current: [number, number] | undefined
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const mapping = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line)
    if (mapping) {
      current = [Number.parseInt(mapping[1]!, 16), Number.parseInt(mapping[2]!, 16)]
      continue
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line)
    // [vsyscall] lies above what pagemap can be read for; it is never resident anyway.
    if (rss && Number(rss[1]) > 0 && current && current[0] < 2 ** 47) ranges.push(current)
  }
  return ranges
}
