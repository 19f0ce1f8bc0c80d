import {spawn} from 'node:child_process'
import {closeSync, openSync, readFileSync, rmSync} from 'node:fs'
import {percentile} from './report.js'

export interface Run {
  qps: number
  avgMs: number
  p99Ms: number
  lost: number
  completed: number
}

/**
 * dnsperf's -v output (a line per query, for an exact p99) goes to a file and is read
 * afterwards: piped into this process it was millions of lines read while measuring,
 * on the same two cores as the servers.
 */
export async function dnsperf(port: number, queryFile: string, outFile: string, options: {clients: number; seconds: number}): Promise<Run> {
  // The child writes the file itself (an fd, not a stream through this process, which
  // could still be flushing when dnsperf exits).
  const fd = openSync(outFile, 'w')
  try {
    const child = spawn('dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', queryFile, '-l', String(options.seconds), '-c', String(options.clients), '-q', '100', '-v'], {stdio: ['ignore', fd, 'inherit']})
    await new Promise((resolve, reject) => child.on('error', reject).on('exit', resolve))
  } finally {
    closeSync(fd)
  }
  const stdout = readFileSync(outFile, 'utf8')
  rmSync(outFile)
  const latencies: number[] = []
  const summary: string[] = []
  for (const line of stdout.split('\n')) {
    if (line.startsWith('> ')) latencies.push(Number(line.slice(line.lastIndexOf(' ') + 1)) * 1000)
    else summary.push(line)
  }
  const summaryText = summary.join('\n')
  const number = (label: string) => Number(new RegExp(`${label}:\\s+([\\d.]+)`).exec(summaryText)?.[1] ?? NaN)
  return {qps: number('Queries per second'), avgMs: number('Average Latency \\(s\\)') * 1000, p99Ms: percentile(latencies, 99), lost: number('Queries lost'), completed: number('Queries completed')}
}

