import type {Family} from '../ip.js'
import {type CommandResult, type RunOptions, commandError, runCommand} from '../../lib/run-command.js'
import {type RawActual, parseActual, parseJsonArray} from './actual.js'
import {type BatchPhase, batchText, toBatches, toStages} from './batch.js'
import {BatchSession} from '../../lib/batch-session.js'
import type {Kernel, KernelRoute, ReadTarget, UnderlayLink} from './kernel.js'
import type {ActualState, Operation} from './model.js'

export type Runner = (command: string, args: readonly string[], options?: RunOptions) => Promise<CommandResult>

export interface IpKernelOptions {
  /** With a namespace, every command runs inside it (`ip -n`, `bridge -n`, `ip netns exec`). */
  netns?: string
  /** How long one command may run before it is killed (SIGKILL) and fails. */
  timeoutMs?: number
  /** The subprocess runner; tests pass a fake. */
  run?: Runner
  /** Where each tool is found (default: by name on PATH); tests point one at a stand-in. */
  tools?: Partial<Record<Tool, string>>
  /**
   * Keep one `ip` and one `bridge` batch process running and send neighbour, fdb and
   * route changes to them, instead of starting processes per change (`vxlan up --watch`).
   * The owner calls close() when done.
   */
  keepBatchProcesses?: boolean
  /** Whether the kernel has nexthop objects (see nexthops()); unset, it is asked. */
  nexthops?: boolean
}

/** Operations a long-lived batch process may run: none that creates or deletes a device, whose index it would cache. */
const SESSION_OPS = new Set<Operation['op']>(['neigh-replace', 'neigh-del', 'fdb-replace', 'fdb-del', 'route-replace', 'route-del'])
const DEVICE_LIFE_OPS = new Set<Operation['op']>(['device-create', 'device-delete'])
/**
 * The device the sentinel line asks for, which no link can have: a colon is not allowed
 * in a link's name, and an alternative name (which may have one) is at most 127 bytes.
 */
export const sentinelDevice = (n: number) => `cnet:sentinel:${n}:`.padEnd(140, 'x')

type Tool = 'ip' | 'bridge' | 'iptables-save' | 'iptables-restore' | 'ip6tables-save' | 'ip6tables-restore'

/**
 * The real kernel: ip, bridge and iptables through the one subprocess runner, so every
 * call has a timeout (a hung `iptables-restore` ends in a SystemCommandError, exit 6,
 * that a daemon retries) and every failure names its command, exit code and stderr.
 * Batches go on stdin, one process per phase; with keepBatchProcesses, neighbour, fdb
 * and route changes go to an `ip` and a `bridge` process kept running (lib/batch-session.ts).
 */
export class IpKernel implements Kernel {
  static readonly DEFAULT_TIMEOUT_MS = 30_000
  private readonly run: Runner
  private readonly timeoutMs: number
  private readonly sessions = new Map<'ip' | 'bridge', BatchSession>()
  private hasNexthops: Promise<boolean> | undefined

  constructor(private readonly options: IpKernelOptions = {}) {
    this.run = options.run ?? runCommand
    this.timeoutMs = options.timeoutMs ?? IpKernel.DEFAULT_TIMEOUT_MS
  }

  private async exec(tool: Tool, args: string[], input?: string): Promise<string> {
    const [command, argv] = this.command(tool, args)
    const result = await this.run(command, argv, {input, timeoutMs: this.timeoutMs, component: 'vxlan', maxOutputBytes: 256 * 1024 * 1024})
    return result.stdout
  }

  private command(tool: Tool, args: string[]): [string, string[]] {
    const binary = this.options.tools?.[tool] ?? tool
    const netns = this.options.netns
    if (!netns) return [binary, args]
    if (tool === 'ip' || tool === 'bridge') return [binary, ['-n', netns, ...args]]
    return [this.options.tools?.ip ?? 'ip', ['netns', 'exec', netns, binary, ...args]]
  }

  /** `ip -j ...` for a device that may not exist: undefined instead of an error. */
  private async optional(tool: 'ip' | 'bridge', args: string[]): Promise<string | undefined> {
    const [command, argv] = this.command(tool, args)
    const result = await this.run(command, argv, {timeoutMs: this.timeoutMs, component: 'vxlan', allowFailure: true, maxOutputBytes: 256 * 1024 * 1024})
    if (result.exitCode === 0) return result.stdout
    if (result.exitCode !== undefined && /does not exist|Cannot find device/i.test(result.stderr)) return undefined
    // A timeout or any other failure: the runner's own error, saying which and how.
    throw commandError(command, argv, result, this.timeoutMs, 'vxlan')
  }

  async readActual(target: ReadTarget): Promise<ActualState> {
    // A full reconcile begins here: its changes go to fresh batch processes, so an index
    // they cached for a device made again behind cnet's back cannot outlive a reconcile.
    this.close()
    const v6 = target.family === 6 ? ['-6'] : []
    const device = target.device
    const deviceJson = device ? await this.optional('ip', ['-j', '-d', 'addr', 'show', 'dev', device]) : undefined
    const raw: RawActual = {deviceJson}
    const reads: Promise<void>[] = [this.optional('ip', [...v6, '-j', 'route', 'show', 'dev', target.underlay]).then((o) => void (raw.underlayRoutesJson = o))]
    if (device && deviceJson) {
      reads.push(
        this.optional('ip', [...v6, '-j', 'neigh', 'show', 'dev', device]).then((o) => void (raw.neighJson = o)),
        this.optional('bridge', ['-j', 'fdb', 'show', 'dev', device]).then((o) => void (raw.fdbJson = o)),
        this.optional('ip', [...v6, '-j', 'route', 'show', 'dev', device]).then((o) => void (raw.deviceRoutesJson = o)),
      )
    }
    await Promise.all(reads)
    return parseActual(raw, {device: device ?? '', underlay: target.underlay}, target.network)
  }

  /**
   * Applies operations in order, one `ip -batch -` or `bridge -batch -` per phase.
   * Neighbours (ip) and fdb entries (bridge) do not depend on each other, so those
   * two phases run side by side; routes still start only after both are in.
   */
  async apply(ops: readonly Operation[]): Promise<void> {
    const inSessions = this.options.keepBatchProcesses === true && ops.every((op) => SESSION_OPS.has(op.op))
    // A device made or removed: the index a session cached for its name is no longer true.
    if (ops.some((op) => DEVICE_LIFE_OPS.has(op.op))) this.close()
    for (const stage of toStages(toBatches(ops))) {
      await Promise.all(stage.map((phase) => (inSessions ? this.inSession(phase) : this.exec(phase.tool, ['-batch', '-'], batchText(phase)))))
    }
  }

  /**
   * Whether the kernel (5.3 on) and iproute2 have nexthop objects, asked once: `ip
   * nexthop show dev lo` lists nothing and succeeds where both do, and fails where either
   * lacks them ("Object "nexthop" is unknown", or the kernel's "Operation not
   * supported"). A hung or missing `ip` is the runner's own error, and is asked again.
   */
  nexthops(): Promise<boolean> {
    if (this.options.nexthops !== undefined) return Promise.resolve(this.options.nexthops)
    this.hasNexthops ??= this.probeNexthops().catch((error: unknown) => {
      this.hasNexthops = undefined
      throw error
    })
    return this.hasNexthops
  }

  private async probeNexthops(): Promise<boolean> {
    const [command, argv] = this.command('ip', ['nexthop', 'show', 'dev', 'lo'])
    const result = await this.run(command, argv, {timeoutMs: this.timeoutMs, component: 'vxlan', allowFailure: true})
    if (result.exitCode === undefined) throw commandError(command, argv, result, this.timeoutMs, 'vxlan')
    return result.exitCode === 0
  }

  private async inSession(phase: BatchPhase): Promise<void> {
    try {
      await this.session(phase.tool).run(phase.lines)
    } catch (error) {
      // Whatever went wrong (a device gone, a hung tool), the next change starts afresh.
      this.close()
      throw error
    }
  }

  private session(tool: 'ip' | 'bridge'): BatchSession {
    let session = this.sessions.get(tool)
    if (!session) {
      const [command, argv] = this.command(tool, ['-force', '-batch', '-'])
      const sentinel = tool === 'ip' ? (n: number) => `link show dev ${sentinelDevice(n)}` : (n: number) => `fdb show dev ${sentinelDevice(n)}`
      session = new BatchSession(command, argv, sentinel, this.timeoutMs, 'vxlan')
      this.sessions.set(tool, session)
    }
    return session
  }

  /** Ends the batch processes kept for changes, if any (the next change starts new ones). */
  close(): void {
    for (const session of this.sessions.values()) session.close()
    this.sessions.clear()
  }

  async findUnderlay(query: {iface?: string; address: string}): Promise<UnderlayLink | undefined> {
    const links = parseJsonArray(await this.exec('ip', ['-j', 'addr', 'show']), 'ip -j addr show') as {ifname: string; mtu: number; addr_info?: {family: string; local: string; prefixlen: number; scope?: string}[]}[]
    const link = links.find((l) => (query.iface ? l.ifname === query.iface : (l.addr_info ?? []).some((a) => a.local === query.address)))
    if (!link) return undefined
    const addresses = (link.addr_info ?? [])
      .filter((a) => (a.family === 'inet' || a.family === 'inet6') && a.scope !== 'link')
      .map((a) => ({family: (a.family === 'inet' ? 4 : 6) as Family, address: a.local, prefix: a.prefixlen}))
    return {name: link.ifname, mtu: link.mtu, addresses}
  }

  async linkNames(): Promise<string[]> {
    return parseJsonArray(await this.exec('ip', ['-j', 'link', 'show']), 'ip -j link show').map((l) => String(l.ifname))
  }

  async routes(family: Family): Promise<KernelRoute[]> {
    const json = await this.exec('ip', [family === 6 ? '-6' : '-4', '-j', 'route', 'show'])
    return parseJsonArray(json, 'ip -j route show').map((r) => ({
      dst: String(r.dst),
      via: typeof r.gateway === 'string' ? r.gateway : undefined,
      dev: typeof r.dev === 'string' ? r.dev : undefined,
      protocol: typeof r.protocol === 'string' ? r.protocol : undefined,
    }))
  }

  iptablesSave(family: Family): Promise<string> {
    return this.exec(family === 6 ? 'ip6tables-save' : 'iptables-save', [])
  }

  async iptablesRestore(family: Family, text: string): Promise<void> {
    await this.exec(family === 6 ? 'ip6tables-restore' : 'iptables-restore', ['--noflush'], text)
  }
}
