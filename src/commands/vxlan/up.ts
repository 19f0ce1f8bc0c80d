import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {runUntilSignal} from '../../cli/daemon.js'
import {requireDuration} from '../../lib/duration.js'
import {UsageError} from '../../lib/errors.js'
import {type HostPort, parseHostPort} from '../../lib/listen-address.js'
import {IpKernel} from '../../net/vxlan/ip-kernel.js'
import {describeOperation} from '../../net/vxlan/describe.js'
import {deviceFlag, deviceV6Flag, ifaceFlag, subnetFileFlag} from '../../cli/vxlan-flags.js'
import type {OverlayContext} from '../../net/vxlan/host.js'
import {requireNetAdmin} from '../../net/vxlan/privileges.js'
import {type UpResult, vxlanUp} from '../../net/vxlan/up.js'
import {type WatchSummary, vxlanWatch} from '../../net/vxlan/watch.js'

export default class VxlanUp extends BaseCommand<typeof VxlanUp> {
  static override summary = 'Create the overlay (VXLAN devices, or host-gw routes) and program a route to every other host'
  static override description =
    'Plans the kernel state from the network config and the leases in etcd, compares it with what the kernel holds, and applies only the difference (entries no lease wants are removed). A second run with nothing changed applies nothing. --watch stays in the foreground and follows lease changes. With IPv6 in the config an IPv6 device (cnet-v6.<VNI>) is programmed too; with the host-gw backend, one route per peer via its public IP. Also known as `cnet overlay up`.'
  static override aliases = ['overlay:up']
  static override examples = [
    '<%= config.bin %> vxlan up',
    '<%= config.bin %> vxlan up --dry-run --json | jq .operations',
    '<%= config.bin %> vxlan up --watch --ip-masq --resync 30s',
    '<%= config.bin %> vxlan up --watch --metrics 127.0.0.1:9156',
  ]

  static override flags = {
    iface: ifaceFlag,
    'subnet-file': subnetFileFlag,
    device: deviceFlag,
    'device-v6': deviceV6Flag,
    watch: Flags.boolean({description: 'stay in the foreground and follow lease changes'}),
    resync: Flags.string({description: 'with --watch: how often to reconcile everything', default: '30s'}),
    'ip-masq': Flags.boolean({description: 'add masquerade and forward rules (chains CNET-POSTRTG, CNET-FWD)'}),
    'dry-run': Flags.boolean({description: 'print the operations and change nothing', exclusive: ['watch']}),
    metrics: Flags.string({description: 'with --watch: serve Prometheus metrics on HOST:PORT (/metrics)', dependsOn: ['watch']}),
  }

  async run(): Promise<UpResult | WatchSummary> {
    const f = this.flags
    const resyncMs = requireDuration('resync', f.resync, 1000)
    const metricsAddress = f.metrics === undefined ? undefined : parseHostPort(f.metrics)
    if (f.metrics !== undefined && !metricsAddress) throw new UsageError(`--metrics: "${f.metrics}" is not HOST:PORT`, 'e.g. 127.0.0.1:9156')
    if (!f['dry-run']) requireNetAdmin('vxlan up')
    // --watch keeps an `ip` and a `bridge` batch process for lease changes: a process start per change would be most of its latency.
    const kernel = new IpKernel({keepBatchProcesses: f.watch})
    const ctx: OverlayContext = {store: await this.store(), keys: this.keys, logger: this.logger.child('vxlan'), kernel}
    const settings = {subnetFile: f['subnet-file'], iface: f.iface, deviceName: f.device, deviceNameV6: f['device-v6'], ipMasq: f['ip-masq']}
    if (f.watch) {
      return runUntilSignal(ctx.logger, async (stop) => {
        // prom-client is loaded only for --metrics.
        const metrics = metricsAddress ? await serveOverlayMetrics(metricsAddress) : undefined
        if (metrics) ctx.logger.info('metrics', {address: f.metrics})
        try {
          return await vxlanWatch(ctx, settings, stop, {resyncMs, observer: metrics?.observer})
        } finally {
          kernel.close()
          await metrics?.close()
        }
      })
    }
    const result = await vxlanUp(ctx, settings, f['dry-run'] === true)
    if (f['dry-run']) {
      for (const op of result.operations) this.log(describeOperation(op))
      if (result.iptables) this.log(result.iptables.trimEnd())
      if (result.ip6tables) this.log(result.ip6tables.trimEnd())
      this.log(`dry run: ${result.operations.length + (result.iptables ? 1 : 0) + (result.ip6tables ? 1 : 0)} operation(s) planned, nothing changed`)
    } else {
      const families = result.families.map((r) => `${r.device ?? 'host-gw'}: ${r.subnet} via ${result.underlay} (MTU ${r.mtu}), ${r.peers} peer(s)`)
      this.log(`${families.join('; ')}, ${result.applied} operation(s) applied`)
    }
    return result
  }
}

async function serveOverlayMetrics(address: HostPort) {
  const [{closeServer, createMetricsRegistry, serveMetrics}, {overlayMetrics}] = await Promise.all([import('../../lib/metrics.js'), import('../../net/vxlan/metrics.js')])
  const registry = createMetricsRegistry()
  const observer = overlayMetrics(registry)
  const server = await serveMetrics(address, registry)
  return {observer, close: () => closeServer(server)}
}
