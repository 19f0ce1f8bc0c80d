import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {RESOLVED_COLUMNS} from '../../cli/svc-output.js'
import {tableFlags} from '../../cli/table-flags.js'
import {UsageError} from '../../lib/errors.js'
import {type ResolvedInstance, resolveService} from '../../svc/resolve.js'
import {STRATEGIES, type Strategy} from '../../svc/select.js'
import {parseInteger, requireDnsLabel, requireTags} from '../../svc/validate.js'

export default class SvcResolve extends BaseCommand<typeof SvcResolve> {
  static override summary = 'Pick healthy instances of a service as a client would'
  static override description =
    'Prints one HOST:PORT per line, the first pick first, ready for $(...); --wide makes it a table with the id, status, weight, node and tags. Healthy means passing or warning (--passing: passing only). round-robin keeps its position per service in $XDG_STATE_HOME/cnet (else ~/.local/state/cnet); hash is rendezvous hashing of --key, so removing an instance moves only the keys it had.'
  static override examples = [
    '<%= config.bin %> svc resolve web',
    'curl http://$(<%= config.bin %> svc resolve web --strategy random)/',
    '<%= config.bin %> svc resolve cache --strategy hash --key user-42 --count 2 --wide',
    '<%= config.bin %> svc resolve web --tag canary',
  ]

  static override args = {name: Args.string({description: 'service name', required: true})}
  static override flags = {
    namespace: Flags.string({description: 'namespace', default: 'default'}),
    strategy: Flags.string({description: 'how to pick', options: [...STRATEGIES], default: 'round-robin'}),
    key: Flags.string({description: 'with --strategy hash: the key to place'}),
    count: Flags.string({description: 'how many instances (at most the healthy ones)', default: '1'}),
    passing: Flags.boolean({description: 'passing instances only (warning ones are left out)', default: false}),
    tag: Flags.string({description: 'only instances with this tag (repeatable: every tag given)', multiple: true}),
    ...tableFlags,
  }

  static override fieldNames = {tags: '--tag'}

  async run(): Promise<ResolvedInstance[]> {
    const f = this.flags
    const name = requireDnsLabel('name', this.args.name)
    const namespace = requireDnsLabel('namespace', f.namespace)
    const tags = f.tag === undefined ? undefined : requireTags('tags', f.tag)
    const strategy = f.strategy as Strategy
    if (strategy === 'hash' && f.key === undefined) throw new UsageError('--key: required with --strategy hash')
    if (strategy !== 'hash' && f.key !== undefined) throw new UsageError('--key: only with --strategy hash')
    const count = parseInteger('count', f.count, 1, 1000)
    const picked = await resolveService(await this.store(), this.keys, {namespace, name, strategy, count, key: f.key, passingOnly: f.passing, tags})
    // A list of addresses has no header; the wide table has one.
    this.printTable(RESOLVED_COLUMNS, picked, `no healthy instance of ${name}.${namespace}`, {headers: f.wide === true})
    return picked
  }
}
