import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {SHAPES_LAB} from '../../scripts/docs/json-shapes.js'
import {CLI, runCli} from '../helpers/cli.js'
import {JsonShapeChecks} from '../helpers/json-shapes.js'
import {addNamespace, listLinks, listNamespaces} from '../helpers/netns.js'
import {removeByPrefix} from '../../src/lab/underlay.js'

/**
 * `cnet lab up` as the README's quick start runs it: three nodes, two pods each, every
 * part a real cnet command in its own namespace; then `lab status` and `lab down`.
 * The test's lab has names of its own (state directory, prefix, underlay, network), so
 * a lab the user brought up with `npm start` is never touched.
 */
const LAB_PREFIX = 'cnt-'
/** A namespace with a prefix that is not the lab's: `lab down` must leave it. */
const SENTINEL = 'cntx-keep'

describe('cnet lab: a whole cluster on this machine', () => {
  /** Every --json document below is checked against docs/reference.md's shapes. */
  const shapes = new JsonShapeChecks(SHAPES_LAB)
  let stateDir: string
  const env = () => ({CNET_LAB_DIR: stateDir, CNET_LAB_PREFIX: LAB_PREFIX, CNET_LAB_UNDERLAY: '10.223.0.0/24', CNET_LAB_NETWORK: '10.224.0.0/16'})
  /** Processes whose command line mentions the lab's state directory. */
  const labProcesses = () =>
    readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          return execFileSync('cat', [`/proc/${pid}/cmdline`]).toString().includes(stateDir)
        } catch {
          return false
        }
      })

  beforeAll(async () => {
    stateDir = join(mkdtempSync(join(tmpdir(), 'cnet-lab-')), 'state')
    // A lab left by an earlier crashed run would make `lab up` refuse.
    await runCli(['lab', 'down'], {env: env()})
    await removeByPrefix(SENTINEL)
    await addNamespace(SENTINEL)
  }, 60_000)

  afterAll(async () => {
    const down = await runCli(['lab', 'down'], {env: env(), timeoutMs: 60_000})
    await removeByPrefix(SENTINEL)
    expect(down.exitCode).toBe(0)
    rmSync(join(stateDir, '..'), {recursive: true, force: true})
  }, 90_000)

  it('without root: one line saying so, exit 1, nothing made', async () => {
    const {execFile} = await import('node:child_process')
    const result = await new Promise<{code: number; stderr: string}>((resolve) =>
      execFile('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, CLI, 'lab', 'up'], {env: {...process.env, HOME: '/tmp', NO_COLOR: '1', ...env()}}, (error, _stdout, stderr) =>
        resolve({code: error ? Number((error as {code?: number}).code ?? 1) : 0, stderr: String(stderr)}),
      ),
    )
    expect(result.code).toBe(1)
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^cnet: lab: needs root/)])
    expect(await listNamespaces(LAB_PREFIX)).toEqual([])
    expect(existsSync(stateDir)).toBe(false)
  }, 30_000)

  it('lab up brings up 3 nodes with 2 pods each and proves the overlay, DNS and health', async () => {
    const up = await runCli(['lab', 'up', '--nodes', '3', '--pods-per-node', '2', '--json'], {env: env(), timeoutMs: 120_000})
    // On failure the proofs (stdout) say which part did not converge, the log lines (stderr) why.
    expect({exitCode: up.exitCode, output: up.exitCode === 0 ? '' : `${up.stdout.slice(-3000)}\n${up.stderr.slice(-3000)}`}).toEqual({exitCode: 0, output: ''})
    const report = shapes.document('lab up', 'one', up.stdout)
    console.log(`lab up --nodes 3 --pods-per-node 2: ${(report.durationMs / 1000).toFixed(1)} s`)
    expect(report.nodes).toHaveLength(3)
    const subnets = report.nodes.map((n: {subnet: string}) => n.subnet)
    expect(new Set(subnets).size).toBe(3)
    for (const subnet of subnets) expect(subnet).toMatch(/^10\.224\.\d+\.0\/24$/)
    expect(report.pods).toHaveLength(6)
    expect(report.services).toHaveLength(6)
    expect(report.services.every((s: {status: string}) => s.status === 'passing')).toBe(true)
    expect(report.proofs.crossNodeFetch).toMatchObject({ok: true, from: 'node3-web2'})
    expect(report.proofs.dnsResolve).toMatchObject({ok: true, name: 'web.default.svc.cluster.local'})
    expect(report.proofs.allHealthyAddresses.got).toEqual(report.pods.map((p: {address: string}) => p.address).sort())
    expect(report.proved).toBe(true)
    expect(report.daemons.every((d: {running: boolean}) => d.running)).toBe(true)
    // Progress is shown on stderr while it works.
    expect(up.stderr).toMatch(/underlay/)
  }, 150_000)

  it('lab up again refuses (exit 5) and leaves the running lab alone', async () => {
    const again = await runCli(['lab', 'up'], {env: env()})
    expect(again.exitCode).toBe(5)
    expect(again.stderr).toMatch(/already up.*lab down/)
    const status = await runCli(['lab', 'status', '--json'], {env: env(), timeoutMs: 60_000})
    expect(status.exitCode).toBe(0)
    expect(shapes.document('lab status', 'one', status.stdout)).toMatchObject({proved: true})
  }, 90_000)

  it('lab status restarts a process that died (supervision) and proves again', async () => {
    const pidFile = join(stateDir, 'node2', 'vxlan.pid')
    const pid = Number(readFileSync(pidFile, 'utf8'))
    process.kill(pid, 'SIGKILL')
    for (let i = 0; i < 50 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 100))
    const status = await runCli(['lab', 'status', '--json'], {env: env(), timeoutMs: 60_000})
    expect(status.exitCode).toBe(0)
    const report = shapes.document('lab status', 'one', status.stdout)
    expect(report.restarted).toEqual(['node2/vxlan'])
    expect(report.proved).toBe(true)
    const again = Number(readFileSync(pidFile, 'utf8'))
    expect(again).not.toBe(pid)
    expect(existsSync(`/proc/${again}`)).toBe(true)
  }, 90_000)

  it('lab status prints the proofs as a table', async () => {
    const table = await runCli(['lab', 'status'], {env: env(), timeoutMs: 60_000})
    expect(table.exitCode).toBe(0)
    expect(table.stdout).toMatch(/node3-web2 fetched a page from node1-web1/)
    expect(table.stdout).toMatch(/lab is up/)
    expect(table.stdout).toMatch(/processes: (\d+) of \1 running/)
  }, 90_000)

  it('lab status on a lab whose namespaces were removed: one line naming them, exit 3', async () => {
    await removeByPrefix(`${LAB_PREFIX}n3`)
    const status = await runCli(['lab', 'status'], {env: env(), timeoutMs: 60_000})
    expect(status.exitCode).toBe(3)
    expect(status.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^cnet: lab: .* its namespaces cnt-n3 are gone \(run cnet lab down, then cnet lab up\)$/)])
  }, 60_000)

  it('lab down removes every namespace, interface, process and file; a second run is a no-op', async () => {
    const down = await runCli(['lab', 'down', '--json'], {env: env(), timeoutMs: 60_000})
    expect(down.exitCode).toBe(0)
    const report = shapes.document('lab down', 'one', down.stdout)
    expect(report.stoppedDaemons).toBeGreaterThanOrEqual(1 + 3 * 3 + 1 + 6)
    expect(await listNamespaces(LAB_PREFIX)).toEqual([])
    expect(await listLinks(LAB_PREFIX)).toEqual([])
    expect(labProcesses()).toEqual([])
    expect(existsSync(stateDir)).toBe(false)
    expect((existsSync('/etc/netns') ? readdirSync('/etc/netns') : []).filter((n) => n.startsWith(LAB_PREFIX))).toEqual([])
    // Only its own prefix: a namespace that merely looks alike is still there.
    expect(await listNamespaces(SENTINEL)).toEqual([SENTINEL])
    const again = await runCli(['lab', 'down', '--json'], {env: env()})
    expect(again.exitCode).toBe(0)
    expect(shapes.document('lab down', 'one', again.stdout)).toMatchObject({stoppedDaemons: 0, removedNamespaces: [], removedLinks: []})
  }, 90_000)

  it('every lab --json document matched the documented shape, with every optional field seen', () => {
    expect(shapes.problems()).toEqual([])
  })
})
