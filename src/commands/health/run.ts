import {hostname} from 'node:os'
import * as Flags from '@oclif/core/flags'
import type {Server} from 'node:http'
import {BaseCommand} from '../../cli/base-command.js'
import {runUntilSignal} from '../../cli/daemon.js'
import {untilAborted} from '../../lib/abort.js'
import {requireDuration} from '../../lib/duration.js'
import {UsageError} from '../../lib/errors.js'
import {parseHostPort} from '../../lib/listen-address.js'
import {Prober, type ProberOptions, type ProberStats} from '../../health/prober.js'
import {requireNodeName} from '../../svc/registration-plan.js'
import {parseInteger} from '../../svc/validate.js'

export default class HealthRun extends BaseCommand<typeof HealthRun> {
  static override summary = "The health prober, in the foreground: runs the checks of this node's instances"
  static override description =
    "Lists and watches this node's entries of the per-node registration index only, and writes each status change under its own etcd lease, so its results expire if it dies. The first start after an upgrade writes the index entries of older registrations once. Keeps probing while etcd is unreachable and writes when it is back. Stops cleanly on SIGTERM/SIGINT."
  static override examples = [
    '<%= config.bin %> health run',
    '<%= config.bin %> health run --node web-host-1 --concurrency 512 --log-format json   # as a systemd service',
    '<%= config.bin %> health run --enable-exec-checks --metrics 127.0.0.1:9154',
  ]

  static override flags = {
    node: Flags.string({description: 'probe the instances registered with this node (default: this host name)'}),
    concurrency: Flags.string({description: 'checks running at once, at most', default: '256'}),
    'enable-exec-checks': Flags.boolean({description: 'run exec checks (without it they are reported critical: registering a command in etcd must not run code on every host)', default: false}),
    'lease-ttl': Flags.string({description: 'TTL of the lease health records are written under: how long results outlive this prober (at least 1s)', default: '10s'}),
    metrics: Flags.string({description: 'serve Prometheus metrics on HOST:PORT (/metrics)'}),
  }

  static override fieldNames = {leaseTtl: '--lease-ttl'}

  async run(): Promise<ProberStats> {
    const node = requireNodeName(this.flags.node ?? hostname())
    const concurrency = parseInteger('concurrency', this.flags.concurrency, 1, 100_000)
    const leaseTtlSeconds = Math.ceil(requireDuration('leaseTtl', this.flags['lease-ttl'], 1000) / 1000)
    const metricsAddress = this.flags.metrics === undefined ? undefined : parseHostPort(this.flags.metrics)
    if (this.flags.metrics !== undefined && !metricsAddress) throw new UsageError(`--metrics: "${this.flags.metrics}" is not HOST:PORT`, 'e.g. 127.0.0.1:9154')
    const store = await this.store()
    const logger = this.logger.child('health')
    const options: ProberOptions = {node, concurrency, enableExecChecks: this.flags['enable-exec-checks'], leaseTtlSeconds, logger}
    return runUntilSignal(this.logger, async (stop) => {
      let server: Server | undefined
      let follow: ((prober: Prober) => void) | undefined
      if (metricsAddress) {
        // prom-client is loaded only for --metrics.
        const [{createMetricsRegistry, serveMetrics}, {healthMetrics}] = await Promise.all([import('../../lib/metrics.js'), import('../../health/metrics.js')])
        const registry = createMetricsRegistry()
        const metrics = healthMetrics(registry)
        Object.assign(options, metrics.hooks)
        follow = metrics.follow
        server = await serveMetrics(metricsAddress, registry)
        logger.info('metrics', {address: this.flags.metrics})
      }
      try {
        const prober = await Prober.start(store, this.keys, options)
        follow?.(prober)
        // A failure the prober cannot go on from ends the command with its exit code.
        const failure = await Promise.race([untilAborted(stop).then(() => undefined), prober.failed.catch((error: Error) => error)])
        await prober.stop()
        const stats = prober.stats()
        logger.info('stopped', {...stats})
        if (failure) throw failure
        return stats
      } finally {
        if (server) await new Promise<void>((resolve) => server!.close(() => resolve()))
      }
    })
  }
}
