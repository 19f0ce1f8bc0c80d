/**
 * `cnet lab up --nodes 3 --pods-per-node 2` from nothing to all proofs passed, then
 * `lab down`, RUNS times; prints the median and each run. Needs root.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {runCli} from '../test/helpers/cli.js'
import {type Figure, percentile, report} from './lib/report.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 3)

async function main() {
  const base = mkdtempSync(join(tmpdir(), 'cnet-lab-bench-'))
  // A lab of its own, beside any lab the user has up.
  const env = {CNET_LAB_DIR: join(base, 'state'), CNET_LAB_PREFIX: 'cnb-', CNET_LAB_UNDERLAY: '10.233.0.0/24', CNET_LAB_NETWORK: '10.234.0.0/16'}
  const upSeconds: number[] = []
  const downSeconds: number[] = []
  try {
    await runCli(['lab', 'down'], {env, timeoutMs: 60_000})
    for (let run = 0; run < RUNS; run++) {
      const up = await runCli(['lab', 'up', '--nodes', '3', '--pods-per-node', '2', '--json'], {env, timeoutMs: 180_000})
      if (up.exitCode !== 0) throw new Error(`lab up exited ${up.exitCode}: ${up.stderr.slice(-2000)}`)
      if (!JSON.parse(up.stdout).proved) throw new Error('lab up: a proof failed')
      upSeconds.push(up.durationMs / 1000)
      const down = await runCli(['lab', 'down'], {env, timeoutMs: 60_000})
      if (down.exitCode !== 0) throw new Error(`lab down exited ${down.exitCode}: ${down.stderr}`)
      downSeconds.push(down.durationMs / 1000)
    }
  } finally {
    await runCli(['lab', 'down'], {env, timeoutMs: 60_000})
    rmSync(base, {recursive: true, force: true})
  }
  const median = (values: number[]) => percentile(values, 50)
  const figures: Figure[] = [
    {metric: 'lab up, 3 nodes x 2 pods (median)', value: Number(median(upSeconds).toFixed(1)), unit: 's', target: '< 30', met: median(upSeconds) < 30},
    {metric: 'lab up, each run', value: upSeconds.map((s) => s.toFixed(1)).join(', '), unit: 's'},
    {metric: 'lab down (median)', value: Number(median(downSeconds).toFixed(1)), unit: 's'},
  ]
  report('lab', figures, {runs: RUNS, command: 'cnet lab up --nodes 3 --pods-per-node 2 (whole command, process start to exit)'})
}

await main()
