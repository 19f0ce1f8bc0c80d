import {SystemCommandError} from '../../src/lib/errors.js'
import {type Cidr, type Family, cidrContains, parseCidr} from '../../src/net/ip.js'
import {bridgeLine, ipLines} from '../../src/net/vxlan/batch.js'
import type {Kernel, KernelRoute, ReadTarget, UnderlayLink} from '../../src/net/vxlan/kernel.js'
import type {ActualDevice, ActualState, FdbEntry, NeighEntry, Operation, RouteEntry} from '../../src/net/vxlan/model.js'

/**
 * A kernel in memory for unit tests: it keeps devices, addresses, neighbours, fdb
 * entries, routes and iptables text as the real one would after each operation, records
 * every call, and can be told to fail or hang. No root, no namespaces.
 */
export interface FakeDevice extends ActualDevice {
  addresses: string[]
  neighs: NeighEntry[]
  fdbs: FdbEntry[]
}

export type KernelCall = {method: keyof Kernel; args: unknown[]}

/** What the next matching call does instead of succeeding. */
export type Fault = {method: keyof Kernel; kind: 'fail' | 'hang'; times?: number; message?: string}

export class RecordingKernel implements Kernel {
  readonly devices = new Map<string, FakeDevice>()
  /** Routes in the main table, both families. */
  routesTable: RouteEntry[] = []
  readonly iptables: Record<Family, string> = {4: '*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n', 6: '*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n'}
  readonly calls: KernelCall[] = []
  /** Every operation applied, in order. */
  readonly applied: Operation[] = []
  /** iptables-restore inputs, in order. */
  readonly restored: {family: Family; text: string}[] = []
  private faults: Fault[] = []
  /** Hung calls, released (as a timeout) by timeOutHung(). */
  private hung: (() => void)[] = []

  constructor(readonly underlay: UnderlayLink = {name: 'eth0', mtu: 1500, addresses: [{family: 4, address: '192.168.1.1', prefix: 24}]}) {}

  /** The next `times` calls of `method` fail (a SystemCommandError, exit 6) or hang. */
  inject(fault: Fault): void {
    this.faults.push({times: 1, ...fault})
  }

  /** Ends every hung call the way the runner's timeout would: a SystemCommandError saying it was killed. */
  timeOutHung(): void {
    for (const release of this.hung.splice(0)) release()
  }

  get hungCalls(): number {
    return this.hung.length
  }

  private async enter(method: keyof Kernel, args: unknown[]): Promise<void> {
    this.calls.push({method, args})
    const fault = this.faults.find((f) => f.method === method)
    if (!fault) return
    if (--fault.times! <= 0) this.faults.splice(this.faults.indexOf(fault), 1)
    if (fault.kind === 'fail') throw new SystemCommandError(fault.message ?? `vxlan: ${method} failed (injected): exited 2`)
    await new Promise<void>((resolve) => this.hung.push(resolve))
    throw new SystemCommandError(`vxlan: ${method}: did not finish within 100 ms and was killed (injected)`)
  }

  /** What nexthops() answers: routes through nexthop objects are kept as any other. */
  hasNexthops = false

  nexthops(): Promise<boolean> {
    return Promise.resolve(this.hasNexthops)
  }

  async readActual(target: ReadTarget): Promise<ActualState> {
    await this.enter('readActual', [target])
    const device = target.device ? this.devices.get(target.device) : undefined
    const inFamily = (ip: string) => ip.includes(':') === (target.family === 6)
    const routes = this.routesTable.filter((r) => inFamily(r.dst) && ((device && r.dev === device.name) || (r.dev === target.underlay && r.via && within(target.network, r.dst))))
    if (!device) return {addresses: [], neighs: [], fdbs: [], routes: routes.filter((r) => r.dev === target.underlay)}
    const {addresses, neighs, fdbs, ...link} = device
    return {device: {...link}, addresses: addresses.filter(inFamily), neighs: neighs.filter((n) => inFamily(n.ip)), fdbs: [...fdbs], routes: routes.map((r) => ({...r}))}
  }

  async apply(ops: readonly Operation[]): Promise<void> {
    await this.enter('apply', [ops])
    for (const op of ops) {
      // The real applier turns each into a batch line; a bad one would fail there too.
      if (ipLines(op).length === 0 && bridgeLine(op) === undefined) throw new SystemCommandError(`vxlan: no command for ${op.op}`)
      this.applyOne(op)
      this.applied.push(op)
    }
  }

  private device(name: string): FakeDevice {
    const d = this.devices.get(name)
    if (!d) throw new SystemCommandError(`vxlan: ip -batch: Cannot find device "${name}"`)
    return d
  }

  private applyOne(op: Operation): void {
    switch (op.op) {
      case 'device-create':
        if (this.devices.has(op.device.name)) throw new SystemCommandError(`vxlan: ip -batch: RTNETLINK answers: File exists (${op.device.name})`)
        this.devices.set(op.device.name, {name: op.device.name, isVxlan: true, vni: op.device.vni, port: op.device.port, local: op.device.local, underlay: op.device.underlay, mac: op.device.mac, mtu: op.device.mtu, up: false, addresses: [], neighs: [], fdbs: []})
        return
      case 'device-delete':
        this.device(op.name)
        this.devices.delete(op.name)
        this.routesTable = this.routesTable.filter((r) => r.dev !== op.name)
        return
      case 'device-set': {
        const d = this.device(op.name)
        if (op.mac) d.mac = op.mac
        if (op.mtu !== undefined) d.mtu = op.mtu
        return
      }
      case 'device-up':
        this.device(op.name).up = true
        return
      case 'address-add':
        this.device(op.dev).addresses.push(op.address)
        return
      case 'address-del': {
        const d = this.device(op.dev)
        d.addresses = d.addresses.filter((a) => a !== op.address)
        return
      }
      case 'neigh-replace': {
        const d = this.device(op.dev)
        d.neighs = [...d.neighs.filter((n) => n.ip !== op.ip), {ip: op.ip, mac: op.mac}]
        return
      }
      case 'neigh-del': {
        const d = this.device(op.dev)
        if (!d.neighs.some((n) => n.ip === op.ip)) throw new SystemCommandError(`vxlan: ip -batch: RTNETLINK answers: No such file or directory (neigh ${op.ip})`)
        d.neighs = d.neighs.filter((n) => n.ip !== op.ip)
        return
      }
      case 'fdb-replace': {
        const d = this.device(op.dev)
        d.fdbs = [...d.fdbs.filter((f) => f.mac !== op.mac), {mac: op.mac, dst: op.dst}]
        return
      }
      case 'fdb-del': {
        const d = this.device(op.dev)
        d.fdbs = d.fdbs.filter((f) => !(f.mac === op.mac && f.dst === op.dst))
        return
      }
      case 'route-replace':
        if (op.route.dev !== this.underlay.name) this.device(op.route.dev)
        this.routesTable = [...this.routesTable.filter((r) => r.dst !== op.route.dst), {...op.route}]
        return
      case 'route-del':
        this.routesTable = this.routesTable.filter((r) => !(r.dst === op.route.dst && r.dev === op.route.dev))
        return
    }
  }

  async findUnderlay(query: {iface?: string; address: string}): Promise<UnderlayLink | undefined> {
    await this.enter('findUnderlay', [query])
    const u = this.underlay
    const match = query.iface ? query.iface === u.name : u.addresses.some((a) => a.address === query.address)
    return match ? u : undefined
  }

  async linkNames(): Promise<string[]> {
    await this.enter('linkNames', [])
    return [this.underlay.name, ...this.devices.keys()]
  }

  async routes(family: Family): Promise<KernelRoute[]> {
    await this.enter('routes', [family])
    return this.routesTable.filter((r) => r.dst.includes(':') === (family === 6)).map((r) => ({dst: r.dst, via: r.via || undefined, dev: r.dev}))
  }

  async iptablesSave(family: Family): Promise<string> {
    await this.enter('iptablesSave', [family])
    return this.iptables[family]
  }

  async iptablesRestore(family: Family, text: string): Promise<void> {
    await this.enter('iptablesRestore', [family, text])
    this.restored.push({family, text})
    this.iptables[family] = applyRestore(this.iptables[family], text)
  }

  /** How many calls of a method were made. */
  count(method: keyof Kernel): number {
    return this.calls.filter((c) => c.method === method).length
  }
}

function within(network: Cidr, dst: string): boolean {
  const cidr = parseCidr(dst)
  return cidr !== undefined && cidrContains(network, cidr)
}

/**
 * `iptables-restore --noflush` on iptables-save text, for the few statements cnet
 * writes: `:CHAIN` (create or flush), `-A`, `-D`, `-X`.
 */
export function applyRestore(saved: string, restore: string): string {
  const tables = new Map<string, {chains: string[]; rules: string[]}>()
  let current: {chains: string[]; rules: string[]} | undefined
  for (const line of saved.split('\n')) {
    if (line.startsWith('*')) tables.set(line.slice(1), (current = {chains: [], rules: []}))
    else if (line.startsWith(':') && current) current.chains.push(line.slice(1).split(' ')[0])
    else if (line.startsWith('-A ') && current) current.rules.push(line)
  }
  for (const line of restore.split('\n')) {
    if (line.startsWith('*')) {
      current = tables.get(line.slice(1)) ?? {chains: [], rules: []}
      tables.set(line.slice(1), current)
    } else if (!current) continue
    else if (line.startsWith(':')) {
      const chain = line.slice(1).split(' ')[0]
      if (!current.chains.includes(chain)) current.chains.push(chain)
      current.rules = current.rules.filter((r) => !r.startsWith(`-A ${chain} `))
    } else if (line.startsWith('-A ')) current.rules.push(line)
    else if (line.startsWith('-D ')) {
      const i = current.rules.indexOf(`-A ${line.slice(3)}`)
      if (i >= 0) current.rules.splice(i, 1)
    } else if (line.startsWith('-X ')) current.chains = current.chains.filter((c) => c !== line.slice(3))
  }
  const out: string[] = []
  for (const [name, t] of tables) out.push(`*${name}`, ...t.chains.map((c) => `:${c} - [0:0]`), ...t.rules, 'COMMIT')
  return out.join('\n') + '\n'
}
