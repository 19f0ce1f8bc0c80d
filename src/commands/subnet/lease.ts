import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {runUntilSignal} from '../../cli/daemon.js'
import {leasedSentence} from '../../cli/human.js'
import {parseDurationMs, requireDuration} from '../../lib/duration.js'
import {UsageError} from '../../lib/errors.js'
import {type HostPort, parseHostPort} from '../../lib/listen-address.js'
import type {Store} from '../../store/store.js'
import {resolveHostAddress} from '../../net/host-address.js'
import {type SubnetLeaseResult, acquireSubnet} from '../../net/subnet-acquire.js'
import {DEFAULT_SUBNET_FILE} from '../../net/subnet-env.js'
import {keepSubnet} from '../../net/subnet-keep.js'

export default class SubnetLease extends BaseCommand<typeof SubnetLease> {
  static override summary = "Acquire (or take back) this host's subnet, write subnet.env, print the lease"
  static override description =
    "The lease is flannel's key and JSON, so flannel and cnet hosts share one network. A lease holding this host's public IP is reused; else the subnet of the existing subnet file if nobody holds it; else a free one at random."
  static override examples = [
    '<%= config.bin %> subnet lease --iface eth0',
    '<%= config.bin %> subnet lease --public-ip 192.168.64.3 --subnet-file /run/cnet/subnet.env --json',
    '<%= config.bin %> subnet lease --public-ip 192.168.64.3 --public-ipv6 2001:db8::3   # dual stack',
    '<%= config.bin %> subnet lease --iface eth0 --keep --log-format json   # as a systemd service',
    '<%= config.bin %> subnet lease --iface eth0 --keep --metrics 127.0.0.1:9155',
  ]

  static override flags = {
    'public-ip': Flags.string({description: 'the address peers reach this host at (default: the address of --iface, else of the default route)', exclusive: ['iface']}),
    iface: Flags.string({description: 'take the public IP (and, with IPv6 enabled, the public IPv6) from this interface'}),
    'public-ipv6': Flags.string({description: "with IPv6 enabled in the config: this host's IPv6 underlay address, PublicIPv6 in the lease (default: the global IPv6 address of --iface, else of the default IPv6 route's interface)"}),
    'subnet-file': Flags.string({description: "where to write flannel's subnet.env", default: DEFAULT_SUBNET_FILE, env: 'CNET_SUBNET_FILE'}),
    ttl: Flags.string({description: 'lease time to live (at least 1m)', default: '24h'}),
    'ip-masq': Flags.boolean({description: 'FLANNEL_IPMASQ=true: cnet vxlan up --ip-masq masquerades, the CNI plugin does not', default: false}),
    // No `default: false` on these two: oclif would then count --keep as given and check
    // --release-on-exit's dependency even when it is not.
    keep: Flags.boolean({description: 'stay in the foreground and renew until SIGTERM/SIGINT'}),
    'release-on-exit': Flags.boolean({description: 'with --keep: free the lease on exit instead of keeping it', dependsOn: ['keep']}),
    metrics: Flags.string({description: 'with --keep: serve Prometheus metrics on HOST:PORT (/metrics)', dependsOn: ['keep']}),
  }

  async run(): Promise<SubnetLeaseResult | undefined> {
    // CNET_UNSAFE_MIN_TTL lowers the 1 minute floor, for tests only.
    const minTtlMs = parseDurationMs(process.env.CNET_UNSAFE_MIN_TTL ?? '') ?? 60_000
    const ttlSeconds = Math.ceil(requireDuration('ttl', this.flags.ttl, minTtlMs) / 1000)
    const metricsAddress = this.flags.metrics === undefined ? undefined : parseHostPort(this.flags.metrics)
    if (this.flags.metrics !== undefined && !metricsAddress) throw new UsageError(`--metrics: "${this.flags.metrics}" is not HOST:PORT`, 'e.g. 127.0.0.1:9155')
    const host = await resolveHostAddress({publicIp: this.flags['public-ip'], iface: this.flags.iface, publicIpv6: this.flags['public-ipv6']})
    // prom-client is loaded only for --metrics; the keep-alives are counted through the store it hands back.
    const metrics = metricsAddress ? await leaseMetricsFor(await this.store()) : undefined
    const store = metrics?.lease.store ?? (await this.store())
    const log = this.logger.child('subnet')
    let reportConflict: (detail: string) => void = () => {}
    const conflicts = new Promise<string>((resolve) => (reportConflict = resolve))
    const acquired = await acquireSubnet(store, this.keys, {
      host,
      subnetFile: this.flags['subnet-file'],
      ttlSeconds,
      ipMasq: this.flags['ip-masq'],
      logger: log,
      handlers: {
        onRegranted: (id) => log.warn('etcd lease was lost; granted again and put the subnet back', {lease: id}),
        onConflict: (key, theirs) => {
          log.error('another host took our subnet', {key, theirs})
          reportConflict(theirs)
        },
        onUnreachable: (error) => log.warn('etcd unreachable; keeping the subnet and retrying', {error: error.message}),
        onReachable: () => log.info('etcd reachable again'),
      },
    })
    if (acquired.result.publicIpv6 === null) log.warn('no global IPv6 address found for PublicIPv6 (no default IPv6 route carrying one); the lease says null', {hint: 'give --public-ipv6 or --iface'})
    this.log(leasedSentence(acquired.result))
    if (this.flags.keep) {
      // Print the lease as soon as it is held, not when the process ends.
      if (this.jsonEnabled()) this.logJson(acquired.result)
      metrics?.lease.follow(acquired.lease)
      const server = metrics && metricsAddress ? await metrics.serve(metricsAddress) : undefined
      if (server) log.info('metrics', {address: this.flags.metrics})
      try {
        await runUntilSignal(this.logger, (stop) => keepSubnet(acquired, log, stop, conflicts, this.flags['release-on-exit'] ?? false))
      } finally {
        await metrics?.close(server)
      }
      return undefined
    } else {
      // One shot: the lease lives out its TTL (renew by running again, or use --keep).
      await acquired.lease?.stop()
    }
    return acquired.result
  }
}

async function leaseMetricsFor(store: Store) {
  const [{closeServer, createMetricsRegistry, serveMetrics}, {leaseMetrics}] = await Promise.all([import('../../lib/metrics.js'), import('../../net/subnet-metrics.js')])
  const registry = createMetricsRegistry()
  return {
    lease: leaseMetrics(registry, store),
    serve: (address: HostPort) => serveMetrics(address, registry),
    close: closeServer,
  }
}
