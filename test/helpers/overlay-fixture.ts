import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {type LogFields, type Logger, createLogger} from '../../src/lib/log.js'
import {parseCidr} from '../../src/net/ip.js'
import {type LeaseAttrs, formatLeaseAttrs, formatLeaseName} from '../../src/net/lease.js'
import {formatSubnetEnv} from '../../src/net/subnet-env.js'
import type {OverlayContext, OverlaySettings} from '../../src/net/vxlan/host.js'
import {Keys} from '../../src/store/keys.js'
import {RecordingKernel} from './recording-kernel.js'
import {MemoryStore} from './memory-store.js'

/**
 * One host of an overlay in memory: a MemoryStore holding a network config and this
 * host's lease, its subnet file on disk, and a RecordingKernel with its underlay.
 * Peers are added as leases. Everything the overlay code needs, without etcd or root.
 */
export const keys = new Keys()

export interface LogLine {
  level: string
  msg: string
  fields: LogFields
}

/** A logger that keeps its lines, for assertions. */
export function recordingLogger(lines: LogLine[] = []): Logger & {lines: LogLine[]} {
  const logger = createLogger({
    level: 'debug',
    format: 'json',
    sink: (line) => {
      const {level, msg, time: _t, component: _c, ...fields} = JSON.parse(line) as Record<string, unknown>
      lines.push({level: String(level), msg: String(msg), fields})
    },
  })
  return Object.assign(logger, {lines})
}

export interface FixtureOptions {
  /** The network config's JSON (default: 10.5.0.0/16, vxlan). */
  config?: Record<string, unknown>
  /** This host's subnets. */
  v4?: string
  v6?: string
  /** This host's lease attributes (default: vxlan, 192.168.1.1, one MAC per family). */
  attrs?: Partial<LeaseAttrs>
}

export class OverlayFixture {
  readonly store = new MemoryStore()
  readonly kernel: RecordingKernel
  readonly logger = recordingLogger()
  readonly dir = mkdtempSync(join(tmpdir(), 'cnet-overlay-'))
  readonly subnetFile = join(this.dir, 'subnet.env')
  readonly selfName: string

  constructor(readonly options: FixtureOptions = {}) {
    const config = options.config ?? {Network: '10.5.0.0/16', Backend: {Type: 'vxlan'}}
    this.kernel = new RecordingKernel({
      name: 'eth0',
      mtu: 1500,
      addresses: [
        {family: 4, address: '192.168.1.1', prefix: 24},
        {family: 6, address: '2001:db8::1', prefix: 64},
      ],
    })
    const v4 = options.v4 === undefined && config.EnableIPv4 === false ? undefined : parseCidr(options.v4 ?? '10.5.1.0/24')
    const v6 = options.v6 ? parseCidr(options.v6) : undefined
    this.selfName = formatLeaseName({v4, v6})
    void this.store.put(keys.networkConfig(), JSON.stringify(config))
    const backend = (config.Backend as {Type?: string} | undefined)?.Type ?? 'vxlan'
    const attrs: LeaseAttrs = {PublicIP: v4 ? '192.168.1.1' : '0.0.0.0', PublicIPv6: v6 ? '2001:db8::1' : null, BackendType: backend}
    if (backend === 'vxlan') {
      if (v4) attrs.BackendData = {VNI: 1, VtepMAC: '02:00:00:00:00:01'}
      if (v6) attrs.BackendV6Data = {VNI: 1, VtepMAC: '02:00:00:00:60:01'}
    }
    void this.store.put(keys.subnet(this.selfName), formatLeaseAttrs({...attrs, ...options.attrs}))
    writeFileSync(this.subnetFile, formatSubnetEnv({network: v4 ? parseCidr(String(config.Network)) : undefined, subnet: v4, ipv6Network: v6 ? parseCidr(String(config.IPv6Network)) : undefined, ipv6Subnet: v6, mtu: 1450, ipMasq: false}))
  }

  get ctx(): OverlayContext {
    return {store: this.store, keys, logger: this.logger, kernel: this.kernel}
  }

  settings(extra: Partial<OverlaySettings> = {}): OverlaySettings {
    return {subnetFile: this.subnetFile, ipMasq: false, ...extra}
  }

  /** A peer's vxlan lease: IPv4 `10.5.<n>.0/24` at 192.168.1.<n>, MAC 02:00:00:00:00:<n>. */
  async addPeer(n: number, extra: Partial<LeaseAttrs> & {v6?: boolean} = {}): Promise<string> {
    const hex = n.toString(16).padStart(2, '0')
    const {v6, ...attrs} = extra
    const name = formatLeaseName({v4: parseCidr(`10.5.${n}.0/24`), v6: v6 ? parseCidr(`fd00:0:0:${hex}::/64`) : undefined})
    const base: LeaseAttrs = {PublicIP: `192.168.1.${n}`, PublicIPv6: v6 ? `2001:db8::${hex}` : null, BackendType: 'vxlan', BackendData: {VNI: 1, VtepMAC: `02:00:00:00:00:${hex}`}}
    if (v6) base.BackendV6Data = {VNI: 1, VtepMAC: `02:00:00:00:60:${hex}`}
    await this.store.put(keys.subnet(name), formatLeaseAttrs({...base, ...attrs}))
    return name
  }

  async removePeer(name: string): Promise<void> {
    await this.store.delete(keys.subnet(name))
  }

  /** The IPv4 routes on a device (or the underlay), by destination. */
  routesOn(dev: string): string[] {
    return this.kernel.routesTable.filter((r) => r.dev === dev).map((r) => r.dst).sort()
  }

  cleanup(): void {
    void this.store.close()
    rmSync(this.dir, {recursive: true, force: true})
  }
}

/** Resolves once `check` holds, polling every few milliseconds; fails after `ms`. */
export async function until(check: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}
