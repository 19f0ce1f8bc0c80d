import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {UsageError} from '../../lib/errors.js'
import {runCheck} from '../../health/run-check.js'
import type {CheckResult} from '../../health/result.js'
import {planCheck} from '../../svc/check-plan.js'

const EXIT: Record<CheckResult['status'], number> = {passing: 0, warning: 1, critical: 2}

export default class HealthCheck extends BaseCommand<typeof HealthCheck> {
  static override summary = 'Run one probe now: exit 0 passing, 1 warning, 2 critical'
  static override description = 'The same probe the prober runs, with its output on stdout. Nothing is read from or written to etcd.'
  static override examples = [
    '<%= config.bin %> health check --http http://127.0.0.1:8080/health',
    '<%= config.bin %> health check --tcp 127.0.0.1:5432 --timeout 1s',
    '<%= config.bin %> health check --exec "/usr/lib/nagios/plugins/check_disk -w 10%" --json',
  ]

  static override fieldNames = {
    check: '--http/--tcp/--exec',
    'check.http': '--http',
    'check.method': '--method',
    'check.headers': '--header',
    'check.tlsSkipVerify': '--tls-skip-verify',
    'check.tcp': '--tcp',
    'check.exec': '--exec',
    'check.timeout': '--timeout',
  }

  static override flags = {
    http: Flags.string({description: 'HTTP URL: 2xx passing, 429 warning, else critical'}),
    method: Flags.string({description: 'HTTP method (default GET)'}),
    header: Flags.string({description: 'HTTP header "Name: value" (repeatable)', multiple: true}),
    'tls-skip-verify': Flags.boolean({description: 'do not verify the HTTPS certificate'}),
    tcp: Flags.string({description: 'HOST:PORT: passing when it accepts a connection'}),
    exec: Flags.string({description: 'a command line split into words (no shell): exit 0 passing, 1 warning, else critical'}),
    timeout: Flags.string({description: 'how long the probe may take', default: '5s'}),
  }

  async run(): Promise<CheckResult | undefined> {
    const f = this.flags
    if (f.http === undefined && f.tcp === undefined && f.exec === undefined) throw new UsageError('give one of --http, --tcp or --exec')
    // Planned as a check of the prober would be; the interval only bounds the timeout here.
    const check = planCheck({http: f.http, method: f.method, headers: f.header, tlsSkipVerify: f['tls-skip-verify'], tcp: f.tcp, exec: f.exec, interval: '1h', timeout: f.timeout})
    if (!check || check.type === 'ttl') throw new UsageError('give one of --http, --tcp or --exec')
    const result = await runCheck(check, {enableExec: true})
    if (this.jsonEnabled()) this.logJson(result)
    else this.log(`${result.status}: ${result.output}`)
    if (EXIT[result.status] !== 0) this.exit(EXIT[result.status])
    return this.jsonEnabled() ? undefined : result
  }
}
