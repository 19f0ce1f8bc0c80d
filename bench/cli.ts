/**
 * How long a CLI call takes, wall clock, as provisioning scripts see it: `cnet --help`
 * and `cnet network show --json` against a local etcd, with `node -e 0` measured in
 * the same run as the floor. Medians of N runs. Target: both under 0.5 s.
 * BENCH_BASELINE=DIR (another checkout, built) times its bin/run.js too, in turn with
 * this one (A B A B ...), and reports this/baseline as the median of the pairs' ratios.
 * Both are started as programs, as `cnet` is (each through its own first line).
 */
import {spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {startEtcd} from '../test/helpers/etcd.js'
import {type Figure, median, percentile, report} from './lib/report.js'

const RUNS = Number(process.env.RUNS ?? 21)
const cli = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const baselineCli = process.env.BENCH_BASELINE ? `${process.env.BENCH_BASELINE}/bin/run.js` : undefined

/** One run of a program (`command[0]`) with its arguments, in ms. */
function timeOnce(command: string[], env: NodeJS.ProcessEnv): number {
  const started = process.hrtime.bigint()
  const result = spawnSync(command[0]!, command.slice(1), {env, stdio: ['ignore', 'pipe', 'pipe']})
  if (result.status !== 0) throw new Error(`${command.join(' ')} exited ${result.status}: ${result.stderr}`)
  return Number(process.hrtime.bigint() - started) / 1e6
}

/** This CLI and the baseline's, in turn: medians of each and of this/baseline pair by pair. */
function versus(args: string[], env: NodeJS.ProcessEnv, label: string): Figure[] {
  const mine: number[] = []
  const base: number[] = []
  for (let i = 0; i < RUNS; i++) {
    base.push(timeOnce([baselineCli!, ...args], env))
    mine.push(timeOnce([cli, ...args], env))
  }
  const ratios = mine.map((m, i) => m / base[i]!)
  return [
    {metric: `${label}: baseline median`, value: median(base), unit: 'ms'},
    {metric: `${label}: this median`, value: median(mine), unit: 'ms'},
    {metric: `${label}: this/baseline (median of pairs)`, value: median(ratios), unit: 'x'},
    {metric: `${label}: this/baseline (lowest-highest pair)`, value: `${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}`, unit: 'x'},
  ]
}

function time(command: string[], env: NodeJS.ProcessEnv): number[] {
  return Array.from({length: RUNS}, () => timeOnce(command, env))
}

const etcd = await startEtcd({name: 'bench-cli'})
try {
  const env = {...process.env, CNET_ETCD_ENDPOINTS: etcd.endpoint, CNET_ETCD_PREFIX: '/bench/network'}
  spawnSync(cli, ['network', 'init', '--network', '10.5.0.0/16'], {env})
  const node = time([process.execPath, '-e', '0'], env)
  const help = time([cli, '--help'], env)
  const show = time([cli, 'network', 'show', '--json'], env)
  const figures: Figure[] = [
    {metric: 'node -e 0 (floor) median', value: median(node), unit: 'ms'},
    {metric: 'cnet --help median', value: median(help), unit: 'ms', target: '< 500', met: median(help) < 500},
    {metric: 'cnet --help p90', value: percentile(help, 90), unit: 'ms'},
    {metric: 'cnet network show --json median', value: median(show), unit: 'ms', target: '< 500', met: median(show) < 500},
    {metric: 'cnet network show --json p90', value: percentile(show, 90), unit: 'ms'},
    {metric: 'show minus floor (median)', value: median(show) - median(node), unit: 'ms'},
  ]
  if (baselineCli) figures.push(...versus(['--help'], env, 'cnet --help'), ...versus(['network', 'show', '--json'], env, 'cnet network show --json'))
  report('cli', figures, {runs: RUNS})
} finally {
  await etcd.destroy()
}
