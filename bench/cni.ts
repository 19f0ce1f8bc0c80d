/**
 * What cnet adds to a container start: ADD then DEL of one pod through cnet's plugin, as
 * a runtime runs it (the shim `cnet cni install` writes), against the reference bridge
 * plugin alone given the same rendered config, alternating in the same run. Both run in
 * a host namespace the benchmark creates, on pod namespaces it creates, all named cnb-*
 * and removed at the end. cnet's share is the median of the paired differences; each
 * round also times `node -e 0`, the floor any Node program pays, and the share in those
 * start-ups (a ratio that a busy machine stretches far less than the times themselves).
 * `cnet cni` through the whole CLI is measured too, with fewer runs, for comparison.
 * Run with `npm run bench:cni` (root). Target: cnet's share of ADD under 100 ms.
 */
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {renderDelegate} from '../src/cni/delegate-config.js'
import {parseNetConf} from '../src/cni/netconf.js'
import {parseCidr} from '../src/net/ip.js'
import {type SubnetEnv, formatSubnetEnv} from '../src/net/subnet-env.js'
import {addNamespace, cleanup} from '../test/helpers/netns.js'
import {type Figure, median, percentile, report} from './lib/report.js'

const PREFIX = 'cnb-'
const HOST = `${PREFIX}host`
const RUNS = Number(process.env.BENCH_RUNS ?? 40)
const CLI_RUNS = Number(process.env.BENCH_CLI_RUNS ?? 8)
const CNI_PATH = '/usr/lib/cni'
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CLI = join(ROOT, 'bin', 'run.js')

interface Call {
  ms: number
  stdout: string
}

/** Runs a plugin inside the host namespace as a runtime would, wall clock from spawn to exit. */
function call(argv: string[], command: 'ADD' | 'DEL', pod: string, id: string, config: string): Call {
  const env = {PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: `/var/run/netns/${pod}`, CNI_IFNAME: 'eth0', CNI_PATH}
  const started = process.hrtime.bigint()
  const run = spawnSync('ip', ['netns', 'exec', HOST, ...argv], {env, input: config, encoding: 'utf8'})
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  if (run.status !== 0) throw new Error(`${argv.join(' ')} ${command} ${id} exited ${run.status}: ${run.stdout} ${run.stderr}`)
  if (command === 'ADD' && !(JSON.parse(run.stdout) as {ips?: unknown[]}).ips?.length) throw new Error(`${argv.join(' ')} ADD gave no address: ${run.stdout}`)
  return {ms, stdout: run.stdout}
}

const spread = (values: number[]) => `${percentile(values, 10).toFixed(1)}-${percentile(values, 90).toFixed(1)}`

function figuresOf(label: string, values: number[], target?: number): Figure[] {
  return [
    {metric: `${label} median`, value: Number(median(values).toFixed(1)), unit: 'ms', ...(target === undefined ? {} : {target: `< ${target}`, met: median(values) < target})},
    {metric: `${label} p10-p90`, value: spread(values), unit: 'ms'},
  ]
}

async function main(): Promise<void> {
  await cleanup(PREFIX)
  const dir = mkdtempSync(join(tmpdir(), 'cnb-'))
  try {
    await addNamespace(HOST)
    const pods = [`${PREFIX}p1`, `${PREFIX}p2`]
    for (const pod of pods) await addNamespace(pod)

    // FLANNEL_IPMASQ=false, as subnet lease writes by default: the bridge adds and removes masquerade rules on both sides.
    const env: SubnetEnv = {network: parseCidr('10.77.0.0/16'), subnet: parseCidr('10.77.1.0/24'), mtu: 1450, ipMasq: false}
    const subnetFile = join(dir, 'subnet.env')
    writeFileSync(subnetFile, formatSubnetEnv(env))
    const install = spawnSync(process.execPath, [CLI, 'cni', 'install', '--conf-dir', join(dir, 'net.d'), '--bin-dir', join(dir, 'bin'), '--subnet-file', subnetFile, '--data-dir', join(dir, 'cni'), '--name', 'cnb', '--json'], {encoding: 'utf8'})
    if (install.status !== 0) throw new Error(`cni install exited ${install.status}: ${install.stderr}`)
    const {confFile, pluginFile} = JSON.parse(install.stdout) as {confFile: string; pluginFile: string}
    // As a runtime hands a plugin its part of the conflist.
    const conflist = JSON.parse(readFileSync(confFile, 'utf8')) as {cniVersion: string; name: string; plugins: object[]}
    const cnetConf = JSON.stringify({cniVersion: conflist.cniVersion, name: conflist.name, ...conflist.plugins[0]})
    // The bridge alone gets exactly what cnet would hand it (its own IPAM directory, so the two never share a lease file).
    const delegate = renderDelegate(parseNetConf(cnetConf), env)
    const bridgeConf = JSON.stringify({...delegate, ipam: {...(delegate.ipam as object), dataDir: join(dir, 'bridge-ipam')}})

    const samples = {cnetAdd: [] as number[], cnetDel: [] as number[], bridgeAdd: [] as number[], bridgeDel: [] as number[], node: [] as number[], shareAdd: [] as number[], shareBoth: [] as number[], shareInNodeStarts: [] as number[]}
    const cnet = [pluginFile]
    const bridge = [join(CNI_PATH, 'bridge')]
    // One warm-up of each fills the page cache and creates the bridge, as on a host that has run containers before.
    for (const [argv, conf] of [[cnet, cnetConf], [bridge, bridgeConf]] as const) {
      call(argv, 'ADD', pods[0], 'warmup', conf)
      call(argv, 'DEL', pods[0], 'warmup', conf)
    }
    const nodeStart = () => {
      const started = process.hrtime.bigint()
      spawnSync('ip', ['netns', 'exec', HOST, process.execPath, '-e', '0'])
      return Number(process.hrtime.bigint() - started) / 1e6
    }
    for (let i = 0; i < RUNS; i++) {
      const pod = pods[i % 2]
      const pair = (argv: string[], conf: string, id: string) => {
        const add = call(argv, 'ADD', pod, id, conf).ms
        return {add, del: call(argv, 'DEL', pod, id, conf).ms}
      }
      // Alternating the order, so a drift in the machine's speed falls on all three.
      const steps = [() => pair(cnet, cnetConf, `cnet-${i}`), () => pair(bridge, bridgeConf, `bridge-${i}`), () => ({add: nodeStart(), del: 0})]
      const order = i % 2 === 0 ? [0, 1, 2] : [2, 1, 0]
      const results: {add: number; del: number}[] = []
      for (const index of order) results[index] = steps[index]()
      const [a, b, n] = results
      samples.cnetAdd.push(a.add)
      samples.cnetDel.push(a.del)
      samples.bridgeAdd.push(b.add)
      samples.bridgeDel.push(b.del)
      samples.node.push(n.add)
      samples.shareAdd.push(a.add - b.add)
      samples.shareBoth.push(a.add + a.del - b.add - b.del)
      // On a busy machine every figure stretches; this ratio stretches far less.
      samples.shareInNodeStarts.push((a.add - b.add) / n.add)
    }

    const cliAdd: number[] = []
    const cliDel: number[] = []
    for (let i = 0; i < CLI_RUNS; i++) {
      cliAdd.push(call([process.execPath, CLI, 'cni'], 'ADD', pods[0], `cli-${i}`, cnetConf).ms)
      cliDel.push(call([process.execPath, CLI, 'cni'], 'DEL', pods[0], `cli-${i}`, cnetConf).ms)
    }
    const figures: Figure[] = [
      ...figuresOf("cnet's share of ADD", samples.shareAdd, 100),
      ...figuresOf("cnet's share of ADD+DEL", samples.shareBoth),
      ...figuresOf('ADD through cnet', samples.cnetAdd),
      ...figuresOf('ADD, bridge alone (baseline)', samples.bridgeAdd),
      ...figuresOf('DEL through cnet', samples.cnetDel),
      ...figuresOf('DEL, bridge alone (baseline)', samples.bridgeDel),
      ...figuresOf('ADD through `cnet cni` (whole CLI)', cliAdd),
      ...figuresOf('DEL through `cnet cni` (whole CLI)', cliDel),
      ...figuresOf('node -e 0 (floor)', samples.node),
      {metric: "cnet's share of ADD / node -e 0 (paired, median)", value: Number(median(samples.shareInNodeStarts).toFixed(2)), unit: 'x'},
    ]
    report('cni', figures, {runs: RUNS, cliRuns: CLI_RUNS, samples, cliAdd, cliDel})
  } finally {
    await cleanup(PREFIX)
    rmSync(dir, {recursive: true, force: true})
  }
}

await main()
