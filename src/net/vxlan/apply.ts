import {execa} from 'execa'
import {SystemCommandError} from '../../lib/errors.js'
import {type Cidr, parseCidr} from '../ip.js'
import {type RawActual, parseActual} from './actual.js'
import {batchText, toBatches, toStages} from './batch.js'
import type {Underlay} from './desired.js'
import type {ActualState, Operation} from './model.js'

/**
 * The only code that runs ip, bridge and iptables: argument arrays, batch input on
 * stdin, one process per phase. A failure becomes SystemCommandError (exit 6) with
 * the command, its exit code and its stderr.
 */
export class KernelRunner {
  /** With a namespace, every command runs inside it (`ip -n`, `bridge -n`, `ip netns exec`). */
  constructor(readonly netns?: string) {}

  async run(tool: 'ip' | 'bridge' | 'iptables-save' | 'iptables-restore', args: string[], input?: string): Promise<string> {
    const [cmd, argv] = this.command(tool, args)
    const result = await execa(cmd, argv, {input: input ?? '', reject: false, maxBuffer: 256 * 1024 * 1024})
    if (result.exitCode !== 0) {
      const stderr = String(result.stderr ?? '').trim().split('\n').slice(0, 3).join('; ')
      throw new SystemCommandError(`vxlan: ${[tool, ...args].join(' ')} failed (exit ${result.exitCode}): ${stderr || result.shortMessage}`)
    }
    return String(result.stdout)
  }

  private command(tool: string, args: string[]): [string, string[]] {
    if (!this.netns) return [tool, args]
    if (tool === 'ip' || tool === 'bridge') return [tool, ['-n', this.netns, ...args]]
    return ['ip', ['netns', 'exec', this.netns, tool, ...args]]
  }

  /** `ip -j ...` for a device that may not exist: undefined instead of an error. */
  private async optional(tool: 'ip' | 'bridge', args: string[]): Promise<string | undefined> {
    try {
      return await this.run(tool, args)
    } catch (error) {
      if (/does not exist|Cannot find device/i.test((error as Error).message)) return undefined
      throw error
    }
  }

  async readActual(device: string, underlay: string, network: Cidr): Promise<ActualState> {
    const deviceJson = await this.optional('ip', ['-j', '-d', 'addr', 'show', 'dev', device])
    const raw: RawActual = {deviceJson}
    const reads: Promise<void>[] = [this.optional('ip', ['-j', 'route', 'show', 'dev', underlay]).then((o) => void (raw.underlayRoutesJson = o))]
    if (deviceJson) {
      reads.push(
        this.optional('ip', ['-j', 'neigh', 'show', 'dev', device]).then((o) => void (raw.neighJson = o)),
        this.optional('bridge', ['-j', 'fdb', 'show', 'dev', device]).then((o) => void (raw.fdbJson = o)),
        this.optional('ip', ['-j', 'route', 'show', 'dev', device]).then((o) => void (raw.deviceRoutesJson = o)),
      )
    }
    await Promise.all(reads)
    return parseActual(raw, {device, underlay}, network)
  }

  /**
   * Applies operations in order, one `ip -batch -` or `bridge -batch -` per phase.
   * Neighbours (ip) and fdb entries (bridge) do not depend on each other, so those
   * two phases run side by side; routes still start only after both are in.
   */
  async apply(ops: readonly Operation[]): Promise<void> {
    for (const stage of toStages(toBatches(ops))) {
      await Promise.all(stage.map((phase) => this.run(phase.tool, ['-batch', '-'], batchText(phase))))
    }
  }

  /** The underlay: the named interface, else the one holding the address. */
  async findUnderlay(iface: string | undefined, publicIp: string): Promise<Underlay | undefined> {
    const links = JSON.parse(await this.run('ip', ['-j', 'addr', 'show'])) as {ifname: string; mtu: number; addr_info?: {family: string; local: string; prefixlen: number}[]}[]
    const link = links.find((l) => (iface ? l.ifname === iface : (l.addr_info ?? []).some((a) => a.local === publicIp)))
    if (!link) return undefined
    const connected = (link.addr_info ?? [])
      .filter((a) => a.family === 'inet')
      .map((a) => parseCidr(`${a.local}/${a.prefixlen}`))
      .filter((c): c is Cidr => c !== undefined)
      .map((c) => ({...c, ip: c.ip & ~((1n << BigInt(32 - c.prefix)) - 1n)}))
    return {name: link.ifname, mtu: link.mtu, connected}
  }

  iptablesSave(): Promise<string> {
    return this.run('iptables-save', [])
  }

  async iptablesRestore(text: string): Promise<void> {
    await this.run('iptables-restore', ['--noflush'], text)
  }
}
