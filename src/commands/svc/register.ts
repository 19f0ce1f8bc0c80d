import {hostname} from 'node:os'
import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {runUntilSignal} from '../../cli/daemon.js'
import {untilAborted} from '../../lib/abort.js'
import {keyValues} from '../../cli/output.js'
import {checkFlags, checkRequestFromFlags} from '../../cli/svc-flags.js'
import {parseDurationMs, requireDurationMs} from '../../lib/duration.js'
import {planRegistration} from '../../svc/registration-plan.js'
import {type RegisterResult, registerInstance} from '../../svc/registry.js'
import {parseInteger} from '../../svc/validate.js'

export default class SvcRegister extends BaseCommand<typeof SvcRegister> {
  static override summary = 'Register one instance of a service, with an optional health check'
  static override description =
    'Registering the same id again updates it and keeps its current health. Without --lease-ttl the instance stays until deregistered; with it, it lives while this command runs and is removed at once on SIGTERM.'
  static override examples = [
    '<%= config.bin %> svc register web --address 10.5.52.7 --port 8080 --check-http http://10.5.52.7:8080/health --interval 5s',
    '<%= config.bin %> svc register db --id db-1 --address 10.5.52.8 --port 5432 --check-tcp 10.5.52.8:5432 --tag primary --meta version=15',
    '<%= config.bin %> svc register batch --address 10.5.52.9 --port 9000 --check-ttl 30s --lease-ttl 10s   # in the foreground',
  ]

  static override args = {name: Args.string({description: 'service name (a DNS label)', required: true})}

  static override flags = {
    address: Flags.string({description: 'IP address of the instance', required: true}),
    port: Flags.string({description: 'port of the instance (1-65535)', required: true}),
    id: Flags.string({description: 'instance id, unique in the namespace (a DNS label; default: the name)'}),
    namespace: Flags.string({description: 'namespace (a DNS label)', default: 'default'}),
    'port-name': Flags.string({description: 'SRV port name (_<port-name>._<protocol>.<name>...)'}),
    protocol: Flags.string({description: 'tcp or udp', default: 'tcp'}),
    tag: Flags.string({description: 'a tag (repeatable)', multiple: true}),
    meta: Flags.string({description: 'KEY=VALUE metadata (repeatable; at most 64 keys)', multiple: true}),
    weight: Flags.string({description: 'SRV and selection weight, 1-65535', default: '1'}),
    node: Flags.string({description: 'the host whose prober runs the check (default: this host name)'}),
    'initial-status': Flags.string({description: 'health until the first probe: passing, warning or critical (default: none, which counts as critical)'}),
    'lease-ttl': Flags.string({description: 'tie the instance to an etcd lease kept while this command runs in the foreground (at least 1s)'}),
    ...checkFlags,
  }

  async run(): Promise<RegisterResult | undefined> {
    const f = this.flags
    // Everything is checked before etcd is touched: a bad flag writes nothing.
    const plan = planRegistration(
      {
        name: this.args.name,
        id: f.id,
        namespace: f.namespace,
        address: f.address,
        port: f.port,
        portName: f['port-name'],
        protocol: f.protocol,
        tags: f.tag ?? [],
        meta: f.meta ?? [],
        weight: parseInteger('--weight', f.weight, 1, 65_535),
        node: f.node ?? hostname(),
        initialStatus: f['initial-status'],
        check: checkRequestFromFlags(f),
      },
      new Date(),
      {minDeregisterAfterMs: parseDurationMs(process.env.CNET_UNSAFE_MIN_TTL ?? '')},
    )
    const leaseTtlMs = f['lease-ttl'] === undefined ? undefined : requireDurationMs('--lease-ttl', f['lease-ttl'], 1000)
    const store = await this.store()
    if (leaseTtlMs === undefined) {
      const result = await registerInstance(store, this.keys, plan)
      this.log(keyValues(Object.entries(result)))
      return result
    }
    const log = this.logger.child('svc')
    const lease = await store.keepLease(Math.ceil(leaseTtlMs / 1000), {
      onRegranted: (id) => log.warn('etcd lease was lost; granted again and registered again', {lease: id}),
      onUnreachable: (error) => log.warn('etcd unreachable; retrying', {error: error.message}),
      onReachable: () => log.info('etcd reachable again'),
    })
    let result: RegisterResult
    try {
      result = await registerInstance(store, this.keys, plan, lease)
    } catch (error) {
      await lease.stop({revoke: true}).catch(() => {})
      throw error
    }
    // Printed as soon as it holds, not when the process ends.
    if (this.jsonEnabled()) this.logJson(result)
    else this.log(keyValues(Object.entries(result)))
    await runUntilSignal(this.logger, async (stop) => {
      log.info('registered; holding the lease', {key: result.key, leaseTtlSeconds: lease.ttlSeconds})
      await untilAborted(stop)
      await lease.stop({revoke: true})
      log.info('deregistered', {key: result.key})
    })
    return undefined
  }
}
