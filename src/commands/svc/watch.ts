import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {runUntilSignal} from '../../cli/daemon.js'
import {watchedSetLine} from '../../cli/svc-output.js'
import {untilAborted} from '../../lib/abort.js'
import {requireDuration} from '../../lib/duration.js'
import {LatestOnlyRunner, execHandler} from '../../svc/handler-runner.js'
import {requireDnsLabel, requireTags, splitCommandLine} from '../../svc/validate.js'
import {ServiceWatcher, type WatchedSet} from '../../svc/watch.js'

export default class SvcWatch extends BaseCommand<typeof SvcWatch> {
  static override summary = "Print a service's healthy instances now and again on every change"
  static override description =
    'Healthy means passing or warning (--passing: passing only), never in maintenance. Changes are debounced; a set equal to the last one printed is not printed again. With --json, one JSON object per line. --exec runs a command (split into words, no shell) with the set as JSON on stdin at start and after each change, never two at once (changes during a run give one more run after it); a failing handler is logged and watching goes on. Keeps going while etcd is unreachable; stops cleanly on SIGTERM/SIGINT.'
  static override examples = [
    '<%= config.bin %> svc watch web',
    '<%= config.bin %> svc watch web --tag canary --json | jq -c .instances',
    '<%= config.bin %> svc watch web --exec "/usr/local/bin/render-upstreams --reload"',
  ]

  static override args = {name: Args.string({description: 'service name', required: true})}
  static override flags = {
    namespace: Flags.string({description: 'namespace', default: 'default'}),
    tag: Flags.string({description: 'only instances with this tag (repeatable: every tag given)', multiple: true}),
    passing: Flags.boolean({description: 'passing instances only (warning ones are left out)', default: false}),
    debounce: Flags.string({description: 'quiet time after a change before the set is printed', default: '200ms'}),
    exec: Flags.string({description: 'a command to run with the set as JSON on stdin after each change'}),
    'exec-timeout': Flags.string({description: 'the handler is killed after this long', default: '30s'}),
  }

  static override fieldNames = {tags: '--tag', execTimeout: '--exec-timeout'}

  async run(): Promise<void> {
    const f = this.flags
    const name = requireDnsLabel('name', this.args.name)
    const namespace = requireDnsLabel('namespace', f.namespace)
    const tags = f.tag === undefined ? undefined : requireTags('tags', f.tag)
    const debounceMs = requireDuration('debounce', f.debounce, 0, 60_000)
    const command = f.exec === undefined ? undefined : splitCommandLine('exec', f.exec)
    const timeoutMs = requireDuration('execTimeout', f['exec-timeout'], 100)
    const store = await this.store()
    const logger = this.logger.child('svc/watch')
    const handler = command ? execHandler({command, timeoutMs, logger}) : undefined
    const runner = handler ? new LatestOnlyRunner<string>(handler.run) : undefined
    const json = this.jsonEnabled()
    const print = (set: WatchedSet) => {
      const at = new Date()
      process.stdout.write(json ? JSON.stringify({...set, at: at.toISOString()}) + '\n' : watchedSetLine(set, at) + '\n')
      runner?.submit(JSON.stringify(set))
    }
    await runUntilSignal(this.logger, async (stop) => {
      const watcher = new ServiceWatcher(store, this.keys, {filter: {namespace, name, tags, passingOnly: f.passing}, debounceMs, logger, onSet: print})
      await watcher.start(stop)
      await untilAborted(stop)
      await watcher.stop()
      await runner?.idle()
      if (handler) logger.info('stopped', {...handler.stats})
    })
  }
}
