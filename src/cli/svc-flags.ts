import * as Flags from '@oclif/core/flags'
import type {CheckRequest} from '../svc/check-plan.js'
import {parseInteger} from '../svc/validate.js'

/**
 * Check flags of `svc register`. Numbers are taken as text and checked by the
 * library, so every bad value gets the same one-line message naming its flag.
 */
const CHECKS = 'CHECK'

export const checkFlags = {
  'check-http': Flags.string({description: 'HTTP check: 2xx passing, 429 warning, else critical', helpGroup: CHECKS}),
  'check-method': Flags.string({description: 'HTTP method of the check (default GET)', helpGroup: CHECKS}),
  'check-header': Flags.string({description: 'HTTP header of the check, "Name: value" (repeatable)', multiple: true, helpGroup: CHECKS}),
  'check-tls-skip-verify': Flags.boolean({description: 'do not verify the HTTPS certificate of the check', helpGroup: CHECKS}),
  'check-tcp': Flags.string({description: 'TCP check: passing when HOST:PORT accepts a connection', helpGroup: CHECKS}),
  'check-exec': Flags.string({
    description: 'exec check, a command line split into words (no shell): exit 0 passing, 1 warning, else critical; runs only on probers started with --enable-exec-checks',
    helpGroup: CHECKS,
  }),
  'check-ttl': Flags.string({description: 'TTL check: critical unless cnet health pass arrives within DUR', helpGroup: CHECKS}),
  interval: Flags.string({description: 'how often an active check runs, at least 1s (default 10s)', helpGroup: CHECKS}),
  timeout: Flags.string({description: 'how long one run may take, at most the interval (default 5s, or the interval if shorter)', helpGroup: CHECKS}),
  'success-before-passing': Flags.string({description: 'consecutive passing runs needed to turn passing (default 0: the first)', helpGroup: CHECKS}),
  'failures-before-critical': Flags.string({description: 'consecutive failed runs needed to turn critical (default 0: the first)', helpGroup: CHECKS}),
  'deregister-critical-after': Flags.string({description: 'deregister the instance once critical this long (at least 1m)', helpGroup: CHECKS}),
}

type CheckFlagValues = {
  'check-http'?: string
  'check-method'?: string
  'check-header'?: string[]
  'check-tls-skip-verify'?: boolean
  'check-tcp'?: string
  'check-exec'?: string
  'check-ttl'?: string
  interval?: string
  timeout?: string
  'success-before-passing'?: string
  'failures-before-critical'?: string
  'deregister-critical-after'?: string
}

/** How the library's check fields are spelled on `svc register`'s command line. */
export const CHECK_FIELD_FLAGS: Record<string, string> = {
  check: '--check-http/--check-tcp/--check-exec/--check-ttl',
  'check.http': '--check-http',
  'check.method': '--check-method',
  'check.headers': '--check-header',
  'check.tlsSkipVerify': '--check-tls-skip-verify',
  'check.tcp': '--check-tcp',
  'check.exec': '--check-exec',
  'check.ttl': '--check-ttl',
  'check.interval': '--interval',
  'check.timeout': '--timeout',
  'check.successBeforePassing': '--success-before-passing',
  'check.failuresBeforeCritical': '--failures-before-critical',
  'check.deregisterCriticalAfter': '--deregister-critical-after',
}

/** The registration fields whose flag is not simply `--<field>`. */
export const REGISTER_FIELD_FLAGS: Record<string, string> = {
  ...CHECK_FIELD_FLAGS,
  portName: '--port-name',
  tags: '--tag',
  initialStatus: '--initial-status',
  leaseTtl: '--lease-ttl',
}

export function checkRequestFromFlags(flags: CheckFlagValues): CheckRequest {
  const count = (field: string, text: string | undefined) => (text === undefined ? undefined : parseInteger(field, text, 0, 100))
  return {
    http: flags['check-http'],
    method: flags['check-method'],
    headers: flags['check-header'],
    tlsSkipVerify: flags['check-tls-skip-verify'],
    tcp: flags['check-tcp'],
    exec: flags['check-exec'],
    ttl: flags['check-ttl'],
    interval: flags.interval,
    timeout: flags.timeout,
    successBeforePassing: count('check.successBeforePassing', flags['success-before-passing']),
    failuresBeforeCritical: count('check.failuresBeforeCritical', flags['failures-before-critical']),
    deregisterCriticalAfter: flags['deregister-critical-after'],
  }
}
