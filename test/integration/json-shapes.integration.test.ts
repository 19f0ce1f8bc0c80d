import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {type Server, createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {SHAPES_INTEGRATION} from '../../scripts/docs/json-shapes.js'
import {CLI, type CliResult, cliEnv, runCli} from '../helpers/cli.js'
import {JsonShapeChecks} from '../helpers/json-shapes.js'
import {freePort} from '../helpers/ports.js'
import {useEtcd, uniquePrefixes} from '../helpers/shared-etcd.js'

/**
 * Every command whose --json shape docs/reference.md documents (and that needs no root)
 * run for real against one etcd, its output compared key by key and type by type with
 * the documented shape (scripts/docs/json-shapes.ts). The last test fails for a shape
 * never checked here, and for a documented optional field or variant no output showed.
 */
describe('--json output matches docs/reference.md', () => {
  const etcd = useEtcd('json-shapes')
  const shapes = new JsonShapeChecks(SHAPES_INTEGRATION)
  const prefixes = uniquePrefixes('shapes')
  let dir: string
  let probeTarget: Server
  let probePort: number
  const env = () => ({...cliEnv(etcd().endpoint, prefixes), CNET_UNSAFE_MIN_TTL: '1s', XDG_STATE_HOME: dir})
  const ok = (result: CliResult, what: string) => {
    expect({what, exitCode: result.exitCode, stderr: result.exitCode === 0 ? '' : result.stderr}).toEqual({what, exitCode: 0, stderr: ''})
    return result.stdout
  }
  const cnet = async (args: string[], input?: string) => ok(await runCli([...args, '--json'], {env: env(), input}), args.join(' '))

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cnet-shapes-'))
    probeTarget = createServer((socket) => socket.end())
    await new Promise<void>((resolve) => probeTarget.listen(0, '127.0.0.1', resolve))
    probePort = (probeTarget.address() as {port: number}).port
  })
  afterAll(async () => {
    await new Promise((resolve) => probeTarget.close(resolve))
    rmSync(dir, {recursive: true, force: true})
  })

  it('version, cni install and health check (no etcd)', async () => {
    const [version, install, check] = await Promise.all([
      cnet(['version']),
      cnet(['cni', 'install', '--conf-dir', join(dir, 'net.d'), '--bin-dir', join(dir, 'bin')]),
      cnet(['health', 'check', '--tcp', `127.0.0.1:${probePort}`]),
    ])
    shapes.document('version', 'one', version)
    expect(shapes.document('cni install', 'one', install).written.sort()).toEqual([join(dir, 'bin', 'cnet'), join(dir, 'net.d', '10-cnet.conflist')])
    expect(shapes.document('health check', 'one', check)).toMatchObject({status: 'passing'})
  })

  it('network and subnet commands, dual stack', async () => {
    expect(shapes.document('network init', 'one', await cnet(['network', 'init', '--network', '10.61.0.0/16', '--ipv6-network', 'fd00:61::/48']))).toMatchObject({action: 'created'})
    shapes.document('network show', 'one', await cnet(['network', 'show']))
    const file = join(dir, 'host1', 'subnet.env')
    // Reserved first: a lease takes one of the first 100 free subnets at random, and could take 10.61.7.0/24.
    const reserved = shapes.document('subnet reserve', 'one', await cnet(['subnet', 'reserve', '10.61.7.0/24', '--public-ip', '192.168.61.7', '--public-ipv6', '2001:db8:61::7']))
    expect(reserved).toMatchObject({subnet: '10.61.7.0/24', ipv6Subnet: expect.any(String)})
    const lease = shapes.document('subnet lease', 'one', await cnet(['subnet', 'lease', '--public-ip', '192.168.61.1', '--public-ipv6', '2001:db8:61::1', '--subnet-file', file]))
    expect(lease).toMatchObject({action: 'created', publicIpv6: '2001:db8:61::1'})
    const [list, listExpiry, show] = await Promise.all([cnet(['subnet', 'list']), cnet(['subnet', 'list', '--expiry']), cnet(['subnet', 'show', '10.61.7.0/24'])])
    expect(shapes.document('subnet list', 'one', list).map((row: object) => 'expiresInSeconds' in row)).toEqual([false, false])
    expect(shapes.document('subnet list', 'one', listExpiry).map((row: {expiresInSeconds: number | null}) => row.expiresInSeconds === null || row.expiresInSeconds > 0)).toEqual([true, true])
    expect(shapes.document('subnet show', 'one', show)).toMatchObject({reserved: true, expiresInSeconds: null})
    expect(shapes.document('subnet release', 'one', await cnet(['subnet', 'release', '--subnet-file', file, '--public-ip', '192.168.61.1']))).toMatchObject({released: true})
  })

  it('a host-gw network config', async () => {
    const hostGw = {...env(), ...cliEnv(etcd().endpoint, uniquePrefixes('shapes-host-gw'))}
    const run = async (args: string[]) => ok(await runCli([...args, '--json'], {env: hostGw}), args.join(' '))
    expect(shapes.document('network init', 'one', await run(['network', 'init', '--network', '10.62.0.0/16', '--backend', 'host-gw'])).config.Backend).toEqual({Type: 'host-gw'})
    expect(shapes.document('network show', 'one', await run(['network', 'show'])).Backend).toEqual({Type: 'host-gw'})
  })

  it('svc and health commands, with every kind of check', async () => {
    const definitions = join(dir, 'services.json')
    const check = (kind: object) => ({interval: '10s', deregisterCriticalAfter: '1m', ...kind})
    writeFileSync(
      definitions,
      JSON.stringify({
        instances: [
          {name: 'web', id: 'web-1', address: '10.61.1.2', port: 8080, portName: 'http', tags: ['canary'], meta: {team: 'core'}, node: 'n1', check: check({http: 'http://10.61.1.2:8080/health'})},
          {name: 'db', id: 'db-1', address: '10.61.1.3', port: 5432, node: 'n1', initialStatus: 'passing', check: check({tcp: '10.61.1.3:5432'})},
          {name: 'job', id: 'job-1', address: '10.61.1.4', port: 9000, node: 'n1', check: check({exec: '/bin/true'})},
          {name: 'batch', id: 'batch-1', address: '10.61.1.5', port: 9000, node: 'n1', check: {ttl: '30s', deregisterCriticalAfter: '1m'}},
        ],
      }),
    )
    expect(shapes.document('svc register', 'file', await cnet(['svc', 'register', '--file', definitions]))).toHaveLength(4)
    const one = shapes.document('svc register', 'one', await cnet(['svc', 'register', 'api', '--id', 'api-1', '--address', '10.61.1.6', '--port', '80', '--node', 'n1']))
    expect(one).toMatchObject({action: 'created', initialStatus: null})

    const [pass, warn, fail] = await Promise.all(['pass', 'warn', 'fail'].map((verb) => cnet(['health', verb, 'batch-1', '--note', verb])))
    shapes.document('health pass', 'one', pass)
    shapes.document('health warn', 'one', warn)
    shapes.document('health fail', 'one', fail)
    expect(shapes.document('svc maint', 'one', await cnet(['svc', 'maint', 'job-1', '--enable', '--reason', 'upgrade']))).toMatchObject({action: 'enabled'})

    const [list, ...shown] = await Promise.all([cnet(['svc', 'list']), ...['web-1', 'db-1', 'job-1', 'batch-1', 'api-1'].map((id) => cnet(['svc', 'show', id]))])
    expect(shapes.document('svc list', 'one', list)).toHaveLength(5)
    for (const details of shown) shapes.document('svc show', 'one', details)
    expect(shapes.document('svc resolve', 'one', await cnet(['svc', 'resolve', 'db']))).toMatchObject([{id: 'db-1'}])

    // svc watch prints a line per set until stopped.
    const watch = await untilStopped(['svc', 'watch', 'db', '--json'], env(), (out) => out.includes('\n'))
    expect(shapes.lines('svc watch', 'set', watch.stdout)[0]).toMatchObject({name: 'db', instances: [{id: 'db-1'}]})

    expect(shapes.document('svc deregister', 'one', await cnet(['svc', 'deregister', 'api-1']))).toMatchObject({action: 'removed'})
    const removed = shapes.document('svc deregister', 'file', await cnet(['svc', 'deregister', '--file', definitions]))
    expect(removed.map((r: {action: string}) => r.action)).toEqual(['removed', 'removed', 'removed', 'removed'])
  })

  it('health run prints its counts on exit; dns serve prints nothing', async () => {
    const run = await untilStopped(['health', 'run', '--node', 'n1', '--lease-ttl', '1s', '--json'], env(), (_out, err) => err.includes('probing'))
    shapes.document('health run', 'one', run.stdout)
    const [port, ready] = await Promise.all([freePort(), freePort()])
    const serve = await untilStopped(['dns', 'serve', '--listen', `127.0.0.1:${port}`, '--upstream', '127.0.0.1:9', '--ready', `127.0.0.1:${ready}`, '--workers', '1', '--json'], env(), async () => {
      const response = await fetch(`http://127.0.0.1:${ready}/ready`).catch(() => undefined)
      return response?.status === 200
    })
    shapes.nothing('dns serve', serve.stdout)
  })

  it('a failure with --json prints the documented error document', async () => {
    const failed = await runCli(['subnet', 'show', '10.61.200.0/24', '--json'], {env: env()})
    expect(failed.exitCode).toBe(3)
    expect(shapes.error(failed.stdout).error).toMatchObject({code: 'ConfigError', exitCode: 3})
  })

  it('checked every shape assigned to this file and saw every optional field and variant', () => {
    expect(shapes.problems({error: true})).toEqual([])
  })
})

/**
 * Starts a long-running cnet command, waits until `ready` says it is running (given
 * what it printed so far), stops it with SIGTERM and returns what it printed; it must
 * exit 0.
 */
async function untilStopped(
  args: string[],
  env: Record<string, string>,
  ready: (stdout: string, stderr: string) => boolean | Promise<boolean>,
): Promise<{stdout: string; stderr: string}> {
  const child = spawn(process.execPath, [CLI, ...args], {env: {...process.env, NO_COLOR: '1', ...env}, stdio: ['ignore', 'pipe', 'pipe']})
  const out = {stdout: '', stderr: ''}
  child.stdout.on('data', (d) => (out.stdout += d))
  child.stderr.on('data', (d) => (out.stderr += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  try {
    const deadline = Date.now() + 30_000
    while (!(await ready(out.stdout, out.stderr))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`cnet ${args.join(' ')} did not get ready (exit ${child.exitCode}): ${out.stderr.slice(-1000)}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    child.kill('SIGTERM')
    const code = await exited
    expect({args, code, stderr: code === 0 ? '' : out.stderr.slice(-1000)}).toEqual({args, code: 0, stderr: ''})
    return out
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL')
  }
}
