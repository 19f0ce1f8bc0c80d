import {chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from '@jest/globals'
import {SystemCommandError} from '../../src/lib/errors.js'
import {BatchSession, FailureReader} from '../../src/lib/batch-session.js'
import {IpKernel, sentinelDevice} from '../../src/net/vxlan/ip-kernel.js'
import {parseCidr} from '../../src/net/ip.js'
import type {CommandResult} from '../../src/lib/run-command.js'
import type {Operation} from '../../src/net/vxlan/model.js'

/**
 * A stand-in for `ip -force -batch -` (and `bridge`): it logs "PID line" for every line
 * it reads to the file named after itself, and answers as the real tools do: a line
 * with "fail" in it fails and the tool goes on (-force), "exit" ends it as a netlink
 * error ends the real `ip neigh`, "hang" never answers, the sentinel always fails.
 */
const STAND_IN = `#!/bin/sh
n=0
while IFS= read -r line; do
  n=$((n+1))
  echo "$$ $line" >> "$0.log"
  case "$line" in
    *cnet:sentinel*) echo "Device \\"x\\" does not exist." >&2; echo "Command failed -:$n" >&2 ;;
    *fail*) echo "Error: boom on $n" >&2; echo "Command failed -:$n" >&2 ;;
    *exit*) echo "RTNETLINK answers: No such device" >&2; exit 2 ;;
    *hang*) exec sleep 600 ;;
  esac
done
`

const dir = mkdtempSync(join(tmpdir(), 'cnet-batch-session-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
let tools = 0
/** A fresh stand-in and the lines it has read, as [pid, line]. */
function standIn() {
  const path = join(dir, `tool${tools++}`)
  writeFileSync(path, STAND_IN)
  chmodSync(path, 0o755)
  const read = () => (existsSync(`${path}.log`) ? readFileSync(`${path}.log`, 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]) : [])
  return {path, read}
}
const sentinel = (n: number) => `link show dev cnet:sentinel:${n}`

describe('FailureReader', () => {
  it('gives each "Command failed -:N" the lines printed since the one before, across chunks that split lines', () => {
    const reader = new FailureReader()
    expect(reader.feed('Error: Nexthop has invalid gate')).toEqual([])
    expect(reader.feed('way.\nCommand failed -:2\nDevice "cnet:s:3" does not exist.\nCommand fai')).toEqual([{line: 2, messages: ['Error: Nexthop has invalid gateway.']}])
    expect(reader.feed('led -:3\n')).toEqual([{line: 3, messages: ['Device "cnet:s:3" does not exist.']}])
    expect(reader.feed('Command failed -:7\n')).toEqual([{line: 7, messages: []}])
    reader.feed('half a line')
    reader.reset()
    expect(reader.feed('Command failed -:1\n')).toEqual([{line: 1, messages: []}])
  })
})

describe('BatchSession', () => {
  it('runs batch after batch through one process, each ending when its sentinel fails', async () => {
    const tool = standIn()
    const session = new BatchSession(tool.path, [], sentinel, 5000, 'vxlan')
    try {
      await session.run(['neigh replace a', 'route replace a'])
      await session.run(['route replace b'])
      // Runs asked for at once go in one after the other, never interleaved.
      await Promise.all([session.run(['route replace c']), session.run(['route replace d'])])
    } finally {
      session.close()
    }
    const read = tool.read()
    expect(new Set(read.map(([pid]) => pid)).size).toBe(1)
    expect(read.map(([, line]) => line)).toEqual(['neigh replace a', 'route replace a', sentinel(3), 'route replace b', sentinel(5), 'route replace c', sentinel(7), 'route replace d', sentinel(9)])
  })

  it('a failed line fails its run with the line and what the tool said; the runs after it are not blamed', async () => {
    const tool = standIn()
    const session = new BatchSession(tool.path, ['-force', '-batch', '-'], sentinel, 5000, 'vxlan')
    try {
      await session.run(['route replace a'])
      const error = await session.run(['route replace b', 'route replace fail-c', 'route replace d']).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(SystemCommandError)
      expect((error as SystemCommandError).exitCode).toBe(6)
      expect((error as Error).message).toBe(`vxlan: ${tool.path} -force -batch -: 1 of 3 line(s) failed: route replace fail-c: Error: boom on 4`)
      await expect(session.run(['route replace e'])).resolves.toBeUndefined()
    } finally {
      session.close()
    }
  })

  it('a tool that exits mid-run fails the run with its exit code and last words; the next run starts a new one', async () => {
    const tool = standIn()
    const session = new BatchSession(tool.path, [], sentinel, 5000, 'vxlan')
    try {
      await expect(session.run(['neigh replace exit'])).rejects.toThrow(/exited 2 after \d+ ms: RTNETLINK answers: No such device$/)
      await session.run(['route replace after'])
    } finally {
      session.close()
    }
    const pids = tool.read().map(([pid]) => pid)
    expect(new Set(pids).size).toBe(2)
  })

  it('a tool that hangs is killed at the timeout and the run fails as timed out', async () => {
    const tool = standIn()
    const session = new BatchSession(tool.path, [], sentinel, 300, 'vxlan')
    try {
      const error = (await session.run(['route replace hang']).catch((e: unknown) => e)) as SystemCommandError
      expect(error).toBeInstanceOf(SystemCommandError)
      expect(error.message).toMatch(/did not finish within 300 ms and was killed/)
      expect(error.failure?.timedOut).toBe(true)
      await session.run(['route replace after'])
    } finally {
      session.close()
    }
  })

  it('a tool that cannot be started fails the run; close() cancels a run in flight', async () => {
    const missing = new BatchSession(join(dir, 'no-such-tool'), [], sentinel, 5000, 'vxlan')
    await expect(missing.run(['route replace a'])).rejects.toThrow(/could not be run: spawn .*no-such-tool ENOENT/)
    const tool = standIn()
    const session = new BatchSession(tool.path, [], sentinel, 5000, 'vxlan')
    const inFlight = session.run(['route replace hang'])
    const queued = session.run(['route replace queued'])
    await new Promise((resolve) => setTimeout(resolve, 100))
    session.close()
    await expect(inFlight).rejects.toThrow(/was cancelled/)
    // The run queued behind it is cancelled too, not started on a process nobody would close.
    await expect(queued).rejects.toThrow(/was cancelled/)
    expect(tool.read().map(([, line]) => line)).toEqual(['route replace hang'])
    // The busy tool is killed, not left behind.
    const pid = Number(tool.read()[0]![0])
    const alive = () => {
      try {
        process.kill(pid, 0)
        return true
      } catch {
        return false
      }
    }
    for (let i = 0; i < 50 && alive(); i++) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(alive()).toBe(false)
  })

  it('an exit is told with what the tool said during that run only', async () => {
    const tool = standIn()
    const session = new BatchSession(tool.path, [], sentinel, 5000, 'vxlan')
    try {
      await session.run(['route replace a'])
      const error = (await session.run(['neigh del exit']).catch((e: unknown) => e)) as SystemCommandError
      expect(error.failure?.stderr).toBe('RTNETLINK answers: No such device\n')
    } finally {
      session.close()
    }
  })
})

describe('IpKernel with batch processes kept', () => {
  const ipSentinel = (n: number) => `link show dev ${sentinelDevice(n)}`

  it("asks for a device no link can have: a colon (no link's name has one) and 128 bytes or more (no alternative name is that long)", () => {
    for (const n of [1, 99_999_999]) {
      expect(sentinelDevice(n)).toContain(':')
      expect(Buffer.byteLength(sentinelDevice(n))).toBeGreaterThanOrEqual(128)
    }
    expect(sentinelDevice(1)).not.toBe(sentinelDevice(2))
  })

  const route = (dst: string): Operation => ({op: 'route-replace', route: {dst, via: dst.replace(/\/\d+$/, ''), dev: 'cnet.1', onlink: true}})
  const fdb: Operation = {op: 'fdb-replace', mac: '02:00:00:00:00:02', dev: 'cnet.1', dst: '192.168.1.2'}
  const neigh: Operation = {op: 'neigh-replace', ip: '10.5.2.0', mac: '02:00:00:00:00:02', dev: 'cnet.1'}

  it('sends neighbour, fdb and route changes to one ip and one bridge process; a device change goes to processes of its own and renews them', async () => {
    const ip = standIn()
    const bridge = standIn()
    const kernel = new IpKernel({keepBatchProcesses: true, tools: {ip: ip.path, bridge: bridge.path}, netns: 'ns1'})
    try {
      await kernel.apply([neigh, fdb, route('10.5.2.0/24')])
      await kernel.apply([route('10.5.3.0/24')])
      await kernel.apply([{op: 'device-up', name: 'cnet.1'}, route('10.5.4.0/24')])
      await kernel.apply([route('10.5.5.0/24')])
      await kernel.apply([{op: 'device-delete', name: 'cnet.1', reason: 'wrong VNI'}])
      await kernel.apply([route('10.5.6.0/24')])
    } finally {
      kernel.close()
    }
    const ipRead = ip.read()
    const pids = [...new Set(ipRead.map(([pid]) => pid))]
    const byPid = (pid: string) => ipRead.filter(([p]) => p === pid).map(([, line]) => line)
    // Kept: the first, second and fourth changes; spawned for one batch each: the one with the device in it and the delete; then a new kept one.
    expect(pids.map(byPid)).toEqual([
      ['neigh replace 10.5.2.0 lladdr 02:00:00:00:00:02 dev cnet.1 nud permanent', 'route replace 10.5.2.0/24 via 10.5.2.0 dev cnet.1 onlink', ipSentinel(3), 'route replace 10.5.3.0/24 via 10.5.3.0 dev cnet.1 onlink', ipSentinel(5), 'route replace 10.5.5.0/24 via 10.5.5.0 dev cnet.1 onlink', ipSentinel(7)],
      ['link set dev cnet.1 up', 'route replace 10.5.4.0/24 via 10.5.4.0 dev cnet.1 onlink'],
      ['link del cnet.1'],
      ['route replace 10.5.6.0/24 via 10.5.6.0 dev cnet.1 onlink', ipSentinel(2)],
    ])
    expect(bridge.read().map(([, line]) => line)).toEqual(['fdb replace 02:00:00:00:00:02 dev cnet.1 dst 192.168.1.2 self permanent', `fdb show dev ${sentinelDevice(2)}`])
  })

  it('a full reconcile (it begins by reading the kernel) starts the processes afresh', async () => {
    const ip = standIn()
    const run = async (): Promise<CommandResult> => ({stdout: '[]', stderr: '', all: '', exitCode: 0, timedOut: false, canceled: false, signal: undefined, startError: undefined, durationMs: 1})
    const kernel = new IpKernel({keepBatchProcesses: true, run, tools: {ip: ip.path, bridge: standIn().path}})
    try {
      await kernel.apply([route('10.5.2.0/24')])
      await kernel.apply([route('10.5.3.0/24')])
      await kernel.readActual({family: 4, device: 'cnet.1', underlay: 'eth0', network: parseCidr('10.5.0.0/16')!})
      await kernel.apply([route('10.5.4.0/24')])
    } finally {
      kernel.close()
    }
    const read = ip.read()
    expect(read.filter(([, line]) => line.startsWith('route')).map(([pid]) => pid === read[0]![0])).toEqual([true, true, false])
  })

  it('after a failed change the processes are started afresh', async () => {
    const ip = standIn()
    const kernel = new IpKernel({keepBatchProcesses: true, tools: {ip: ip.path, bridge: standIn().path}})
    try {
      await kernel.apply([route('10.5.2.0/24')])
      await expect(kernel.apply([route('10.5.3.0/24'), {op: 'route-replace', route: {dst: 'fail', via: 'x', dev: 'cnet.1', onlink: false}}])).rejects.toThrow(/1 of 2 line\(s\) failed: route replace fail via x dev cnet.1: Error: boom on 4/)
      await kernel.apply([route('10.5.5.0/24')])
    } finally {
      kernel.close()
    }
    expect(new Set(ip.read().map(([pid]) => pid)).size).toBe(2)
  })
})
