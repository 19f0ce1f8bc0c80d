import {fileURLToPath} from 'node:url'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {runUntilSignal} from '../../cli/daemon.js'
import {flagNames} from '../../cli/setting-names.js'
import type {ServeSettings} from '../../dns/serve-options.js'
import {runDnsServer} from '../../dns/server.js'

/**
 * Flags here carry no defaults: a flag not given leaves the config file's value (or the
 * library's default, documented in each description) in place.
 */
export default class DnsServe extends BaseCommand<typeof DnsServe> {
  static override summary = 'Answer DNS for registered services and forward every other name'
  static override description =
    'Serves <name>.<namespace>.svc.<zone> (A/AAAA of healthy instances, SRV), <id>.<name>.<namespace>.svc.<zone>, <tag>._tag.<name>.<namespace>.svc.<zone>, _<port>._<proto>.<name>.<namespace>.svc.<zone> SRV and PTR for registered addresses from an in-memory copy of etcd; other names go to the upstreams (per stub domain with --config). Flags given here win over the config file; SIGHUP reloads the file.'
  static override examples = [
    '<%= config.bin %> dns serve --listen 127.0.0.1:5353',
    '<%= config.bin %> dns serve --listen 10.5.0.1:53 --upstream 1.1.1.1 --ready 127.0.0.1:8181 --metrics 127.0.0.1:9153',
    '<%= config.bin %> dns serve --config /etc/cnet/dns.json',
  ]

  static override flags = {
    config: Flags.string({description: 'JSON file of settings: the long flag names as keys, plus forward (stub domains) and hosts; reloaded on SIGHUP'}),
    listen: Flags.string({description: 'address:port to serve UDP and TCP on (repeatable; default 0.0.0.0:53 and [::]:53)', multiple: true}),
    zone: Flags.string({description: 'the zone answered from the service registry (default cluster.local)'}),
    upstream: Flags.string({description: 'resolver for other names, address[:port] (repeatable; default: /etc/resolv.conf)', multiple: true}),
    ttl: Flags.string({description: 'TTL of service answers (default 5s)'}),
    'negative-ttl': Flags.string({description: 'TTL of NXDOMAIN/NODATA answers, the SOA minimum (default 5s)'}),
    'only-passing': Flags.boolean({description: 'leave out instances whose health is warning', allowNo: true}),
    'allow-recursion': Flags.string({description: 'clients allowed to have names forwarded, CIDR (repeatable; default loopback and the cluster network)', multiple: true}),
    'max-concurrent': Flags.integer({description: 'forwarded queries in flight before REFUSED (default 1000)'}),
    health: Flags.string({description: 'address:port serving GET /health'}),
    ready: Flags.string({description: 'address:port serving GET /ready (503 while etcd is unreachable)'}),
    metrics: Flags.string({description: 'address:port serving Prometheus /metrics'}),
    workers: Flags.integer({description: 'processes answering queries, sharing the sockets (default one per core)'}),
    'log-queries': Flags.boolean({description: 'log every query (CoreDNS log format; fields with --log-format json)', allowNo: true}),
  }

  async run(): Promise<void> {
    const f = this.flags
    const commandLine: ServeSettings = {
      listen: f.listen,
      zone: f.zone,
      upstream: f.upstream,
      ttl: f.ttl,
      'negative-ttl': f['negative-ttl'],
      'only-passing': f['only-passing'],
      'allow-recursion': f['allow-recursion'],
      'max-concurrent': f['max-concurrent'],
      health: f.health,
      ready: f.ready,
      metrics: f.metrics,
      workers: f.workers,
      'log-queries': f['log-queries'],
    }
    const logger = this.logger.child('dns')
    const logFormat = f['log-format'] === 'json' ? ('json' as const) : ('text' as const)
    const launch = {entry: fileURLToPath(new URL('../../cli/dns-worker.js', import.meta.url)), storeOptions: this.context.storeOptions, roots: {networkPrefix: this.keys.networkPrefix, cnetPrefix: this.keys.cnetPrefix}, log: {level: this.logger.level, format: logFormat}, flags: flagNames(DnsServe)}
    const request = {commandLine, configPath: f.config, logFormat, launch}
    await runUntilSignal(logger, (stop) => runDnsServer(() => this.store(), this.keys, logger, request, stop))
  }
}
