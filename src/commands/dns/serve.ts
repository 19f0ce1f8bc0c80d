import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {runUntilSignal} from '../../cli/daemon.js'
import {resolveServeOptions} from '../../dns/serve-options.js'
import {serveDns} from '../../dns/server.js'

export default class DnsServe extends BaseCommand<typeof DnsServe> {
  static override summary = 'Answer DNS for registered services and forward every other name'
  static override description =
    'Serves <name>.<namespace>.svc.<zone> (A/AAAA of healthy instances, SRV), <id>.<name>.<namespace>.svc.<zone>, _<port>._<proto>.<name>.<namespace>.svc.<zone> SRV and PTR for registered addresses from an in-memory copy of etcd; other names go to the upstreams.'
  static override examples = [
    '<%= config.bin %> dns serve --listen 127.0.0.1:5353',
    '<%= config.bin %> dns serve --listen 10.5.0.1:53 --upstream 1.1.1.1 --ready 127.0.0.1:8181 --metrics 127.0.0.1:9153',
  ]

  static override flags = {
    listen: Flags.string({description: 'address:port to serve UDP and TCP on (repeatable)', multiple: true, default: ['0.0.0.0:53', '[::]:53']}),
    zone: Flags.string({description: 'the zone answered from the service registry', default: 'cluster.local'}),
    upstream: Flags.string({description: 'resolver for other names, address[:port] (repeatable; default: /etc/resolv.conf)', multiple: true}),
    ttl: Flags.string({description: 'TTL of service answers', default: '5s'}),
    'negative-ttl': Flags.string({description: 'TTL of NXDOMAIN/NODATA answers (the SOA minimum)', default: '5s'}),
    'only-passing': Flags.boolean({description: 'leave out instances whose health is warning'}),
    'allow-recursion': Flags.string({description: 'clients allowed to have names forwarded, CIDR (repeatable; default loopback and the cluster network)', multiple: true}),
    'max-concurrent': Flags.integer({description: 'forwarded queries in flight before REFUSED', default: 1000}),
    health: Flags.string({description: 'address:port serving GET /health'}),
    ready: Flags.string({description: 'address:port serving GET /ready (503 while etcd is unreachable)'}),
    metrics: Flags.string({description: 'address:port serving Prometheus /metrics'}),
    workers: Flags.integer({description: 'processes answering queries, sharing the sockets (one per core is fastest)', default: 1}),
    'log-queries': Flags.boolean({description: 'log every query (CoreDNS log format)'}),
  }

  async run(): Promise<void> {
    const store = await this.store()
    const options = await resolveServeOptions(this.flags, store, this.keys)
    await runUntilSignal(this.logger, (stop) => serveDns(store, this.keys, this.logger.child('dns'), options, stop))
  }
}
