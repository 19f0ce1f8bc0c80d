import {hostname} from 'node:os'
import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {runUntilSignal} from '../../cli/daemon.js'
import {readDefinitionFile} from '../../cli/definition-input.js'
import {registeredSentence} from '../../cli/human.js'
import {REGISTER_FIELD_FLAGS, checkFlags, checkRequestFromFlags} from '../../cli/svc-flags.js'
import {REGISTER_RESULT_COLUMNS} from '../../cli/svc-output.js'
import {untilAborted} from '../../lib/abort.js'
import {parseDurationMs, requireDuration} from '../../lib/duration.js'
import {UsageError} from '../../lib/errors.js'
import type {CheckPlanOptions} from '../../svc/check-plan.js'
import {parseDefinitions, planDefinitions} from '../../svc/definition-file.js'
import {type RegistrationPlan, planRegistration} from '../../svc/registration-plan.js'
import {type RegisterResult, registerInstances} from '../../svc/registry.js'
import {parseInteger} from '../../svc/validate.js'

/** Flags that describe one instance: not with --file, which describes its own. */
const INSTANCE_FLAGS = ['address', 'port', 'id', 'port-name', 'protocol', 'tag', 'meta', 'weight', 'initial-status', ...Object.keys(checkFlags)] as const

export default class SvcRegister extends BaseCommand<typeof SvcRegister> {
  static override summary = 'Register one instance of a service, with an optional health check, or every instance a definition file defines'
  static override description =
    "Registering the same id again updates it and keeps its current health and maintenance; the same registration again writes nothing. --file reads Consul's service definition JSON ({\"service\": {...}} or {\"services\": [...]}) or cnet's ({\"instances\": [...]}), - for stdin: every instance is validated before any is written. Without --lease-ttl the instances stay until deregistered; with it, they live while this command runs and are removed at once on SIGTERM."
  static override examples = [
    '<%= config.bin %> svc register web --address 10.5.52.7 --port 8080 --check-http http://10.5.52.7:8080/health --interval 5s',
    '<%= config.bin %> svc register db --id db-1 --address 10.5.52.8 --port 5432 --check-tcp 10.5.52.8:5432 --tag primary --meta version=15',
    '<%= config.bin %> svc register --file /etc/cnet/services.json',
    'consul-template ... | <%= config.bin %> svc register --file - --node "$(hostname)"',
    '<%= config.bin %> svc register batch --address 10.5.52.9 --port 9000 --check-ttl 30s --lease-ttl 10s   # in the foreground',
  ]

  // ignoreStdin: with --file -, stdin is the file, not this argument.
  static override args = {name: Args.string({description: 'service name (a DNS label); not with --file', ignoreStdin: true})}

  static override flags = {
    file: Flags.string({description: 'a service definition file (Consul\'s JSON or cnet\'s), - for stdin'}),
    address: Flags.string({description: 'IP address of the instance'}),
    port: Flags.string({description: 'port of the instance (1-65535)'}),
    id: Flags.string({description: 'instance id, unique in the namespace (a DNS label; default: the name)'}),
    namespace: Flags.string({description: 'namespace (a DNS label; with --file, for instances that name none)', default: 'default'}),
    'port-name': Flags.string({description: 'SRV port name (_<port-name>._<protocol>.<name>...)'}),
    protocol: Flags.string({description: 'transport of the port, for SRV records', options: ['tcp', 'udp'], default: 'tcp'}),
    tag: Flags.string({description: 'a tag (repeatable)', multiple: true}),
    meta: Flags.string({description: 'KEY=VALUE metadata (repeatable; at most 64 keys)', multiple: true}),
    weight: Flags.string({description: 'SRV and selection weight, 1-65535', default: '1'}),
    node: Flags.string({description: 'the host whose prober runs the check (default: this host name)'}),
    'initial-status': Flags.string({description: 'health until the first probe: passing, warning or critical (default: none, which counts as critical)'}),
    'lease-ttl': Flags.string({description: 'tie the instances to an etcd lease kept while this command runs in the foreground (at least 1s)'}),
    ...checkFlags,
  }

  static override fieldNames = REGISTER_FIELD_FLAGS

  async run(): Promise<RegisterResult | RegisterResult[] | undefined> {
    const f = this.flags
    // Everything is checked before etcd is touched: a bad flag or file writes nothing.
    const options: CheckPlanOptions = {minDeregisterAfterMs: parseDurationMs(process.env.CNET_UNSAFE_MIN_TTL ?? '')}
    const plans = f.file === undefined ? [this.planFromFlags(options)] : this.plansFromFile(f.file, options)
    const leaseTtlMs = f['lease-ttl'] === undefined ? undefined : requireDuration('leaseTtl', f['lease-ttl'], 1000)
    const store = await this.store()
    const show = (results: RegisterResult[]) => (f.file === undefined ? results[0]! : results)
    if (leaseTtlMs === undefined) {
      const results = await registerInstances(store, this.keys, plans)
      this.print(plans, results)
      return show(results)
    }
    const log = this.logger.child('svc')
    const lease = await store.keepLease(Math.ceil(leaseTtlMs / 1000), {
      onRegranted: (id) => log.warn('etcd lease was lost; granted again and registered again', {lease: id}),
      onUnreachable: (error) => log.warn('etcd unreachable; retrying', {error: error.message}),
      onReachable: () => log.info('etcd reachable again'),
    })
    let results: RegisterResult[]
    try {
      results = await registerInstances(store, this.keys, plans, lease)
    } catch (error) {
      await lease.stop({revoke: true}).catch(() => {})
      throw error
    }
    // Printed as soon as it holds, not when the process ends.
    if (this.jsonEnabled()) this.logJson(show(results))
    else this.print(plans, results)
    await runUntilSignal(this.logger, async (stop) => {
      log.info('registered; holding the lease', {keys: results.map((r) => r.key), leaseTtlSeconds: lease.ttlSeconds})
      await untilAborted(stop)
      await lease.stop({revoke: true})
      log.info('deregistered', {keys: results.map((r) => r.key)})
    })
    return undefined
  }

  private planFromFlags(options: CheckPlanOptions): RegistrationPlan {
    const f = this.flags
    if (this.args.name === undefined) throw new UsageError('NAME: required (or give --file)')
    for (const flag of ['address', 'port'] as const) if (f[flag] === undefined) throw new UsageError(`--${flag}: required (or give --file)`)
    return planRegistration(
      {
        name: this.args.name,
        id: f.id,
        namespace: f.namespace,
        address: f.address!,
        port: f.port!,
        portName: f['port-name'],
        protocol: f.protocol,
        tags: f.tag ?? [],
        meta: f.meta ?? [],
        weight: parseInteger('weight', f.weight, 1, 65_535),
        node: f.node ?? hostname(),
        initialStatus: f['initial-status'],
        check: checkRequestFromFlags(f),
      },
      new Date(),
      options,
    )
  }

  private plansFromFile(file: string, options: CheckPlanOptions): RegistrationPlan[] {
    if (this.args.name !== undefined) throw new UsageError('NAME: not with --file', 'the file names its services')
    const given = INSTANCE_FLAGS.filter((flag) => this.argv.some((arg) => arg === `--${flag}` || arg.startsWith(`--${flag}=`)))
    if (given.length > 0) throw new UsageError(`--${given[0]}: not with --file`, 'the file defines each instance')
    const {definitions} = parseDefinitions(readDefinitionFile(file), {namespace: this.flags.namespace, node: this.flags.node ?? hostname()})
    return planDefinitions(definitions, new Date(), options)
  }

  private print(plans: RegistrationPlan[], results: RegisterResult[]): void {
    if (this.flags.file === undefined) this.log(registeredSentence(plans[0]!.registration, results[0]!))
    else this.printTable(REGISTER_RESULT_COLUMNS, results, 'the file defines no instances')
  }
}
