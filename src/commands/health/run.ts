import {hostname} from 'node:os'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {runUntilSignal} from '../../cli/daemon.js'
import {untilAborted} from '../../lib/abort.js'
import {requireDurationMs} from '../../lib/duration.js'
import {Prober, type ProberStats} from '../../health/prober.js'
import {requireNodeName} from '../../svc/registration-plan.js'
import {parseInteger} from '../../svc/validate.js'

export default class HealthRun extends BaseCommand<typeof HealthRun> {
  static override summary = "The health prober, in the foreground: runs the checks of this node's instances"
  static override description =
    'Follows registrations through an etcd watch and writes each status change under its own etcd lease, so its results expire if it dies. Keeps probing while etcd is unreachable and writes when it is back. Stops cleanly on SIGTERM/SIGINT.'
  static override examples = [
    '<%= config.bin %> health run',
    '<%= config.bin %> health run --node web-host-1 --concurrency 512 --log-format json   # as a systemd service',
    '<%= config.bin %> health run --enable-exec-checks',
  ]

  static override flags = {
    node: Flags.string({description: 'probe the instances registered with this node (default: this host name)'}),
    concurrency: Flags.string({description: 'checks running at once, at most', default: '256'}),
    'enable-exec-checks': Flags.boolean({description: 'run exec checks (without it they are reported critical: registering a command in etcd must not run code on every host)', default: false}),
    'lease-ttl': Flags.string({description: 'TTL of the lease health records are written under: how long results outlive this prober (at least 1s)', default: '10s'}),
  }

  async run(): Promise<ProberStats> {
    const node = requireNodeName(this.flags.node ?? hostname())
    const concurrency = parseInteger('--concurrency', this.flags.concurrency, 1, 100_000)
    const leaseTtlSeconds = Math.ceil(requireDurationMs('--lease-ttl', this.flags['lease-ttl'], 1000) / 1000)
    const store = await this.store()
    const logger = this.logger.child('health')
    return runUntilSignal(this.logger, async (stop) => {
      const prober = await Prober.start(store, this.keys, {node, concurrency, enableExecChecks: this.flags['enable-exec-checks'], leaseTtlSeconds, logger})
      await untilAborted(stop)
      await prober.stop()
      const stats = prober.stats()
      logger.info('stopped', {...stats})
      return stats
    })
  }
}
