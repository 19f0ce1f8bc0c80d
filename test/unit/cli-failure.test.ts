import {describe, expect, it} from '@jest/globals'
import {Args, Flags, Parser} from '@oclif/core'
import {ERROR_CODES, describeError, parseErrorLine, reportFailure, requestedLogFormat} from '../../src/cli/failure.js'
import {CnetError, ConfigError, ConflictError, InvalidValueError, StoreUnavailableError, SystemCommandError, UsageError} from '../../src/lib/errors.js'

/** The error oclif's own parser throws for this command line. */
async function parseError(argv: string[]): Promise<Error & {oclif?: {exit?: number}}> {
  try {
    await Parser.parse(argv, {
      args: {subnet: Args.string({description: 'the subnet, e.g. 10.5.52.0/24', required: true})},
      flags: {
        address: Flags.string({required: true}),
        port: Flags.string({required: true}),
        level: Flags.string({options: ['debug', 'info']}),
        keep: Flags.boolean(),
        'release-on-exit': Flags.boolean({dependsOn: ['keep']}),
        iface: Flags.string({exclusive: ['address']}),
        nodes: Flags.integer({min: 1}),
      },
    })
  } catch (error) {
    return error as Error
  }
  throw new Error(`${argv.join(' ')} parsed`)
}

describe("oclif's parse errors on one line", () => {
  it.each<[string[], string]>([
    [[], 'Missing 1 required arg: SUBNET (the subnet, e.g. 10.5.52.0/24)'],
    [['10.5.7.0/24'], 'Missing required flag --address; Missing required flag --port'],
    [['10.5.7.0/24', '--address', 'a', '--port', '1', '--bogus'], 'Nonexistent flag: --bogus'],
    [['10.5.7.0/24', 'extra', '--address', 'a', '--port', '1'], 'Unexpected argument: extra'],
    [['10.5.7.0/24', '--address', 'a', '--port', '1', '--level', 'loud'], 'Expected --level=loud to be one of: debug, info'],
    [['10.5.7.0/24', '--address', 'a', '--port', '1', '--release-on-exit'], 'All of the following must be provided when using --release-on-exit: --keep'],
    [['10.5.7.0/24', '--address', 'a', '--port', '1', '--iface', 'eth0'], '--address=a cannot also be provided when using --iface'],
    [['10.5.7.0/24', '--address', 'a', '--port', '1', '--nodes', '0'], 'Parsing --nodes: Expected an integer greater than or equal to 1 but received: 0'],
  ])('%j -> %s', async (argv, line) => {
    const error = await parseError(argv)
    expect(parseErrorLine(error)).toBe(line)
    expect(describeError(error, 'cnet x --help')).toEqual({code: 2, name: 'UsageError', line: `${line} (see cnet x --help)`})
  })
})

describe('error codes', () => {
  it.each<[Error, number, string]>([
    [new CnetError('a proof failed'), 1, 'Failure'],
    [new UsageError('--x: bad'), 2, 'UsageError'],
    [new InvalidValueError('port', 'must be 1-65535'), 2, 'UsageError'],
    [new ConfigError('no config'), 3, 'ConfigError'],
    [new StoreUnavailableError('down'), 4, 'StoreUnavailableError'],
    [new ConflictError('taken'), 5, 'ConflictError'],
    [new SystemCommandError('ip failed'), 6, 'SystemCommandError'],
    [new TypeError('x is not a function'), 70, 'InternalError'],
  ])('%s -> exit %d, code %s', (error, exit, name) => {
    expect(describeError(error)).toMatchObject({code: exit, name})
    expect(ERROR_CODES[exit]).toBe(name)
  })

  it('tells a message of several lines in one', () => {
    expect(describeError(new ConfigError('cannot read f:\n  Unexpected token\n  at 3', 'fix it')).line).toBe('cannot read f: Unexpected token at 3 (fix it)')
  })
})

describe('reportFailure', () => {
  const run = (error: Error, report: {json?: boolean; argv?: string[]; logFormat?: string; logLevel?: string}) => {
    const out: string[] = []
    const err: string[] = []
    const code = reportFailure(error, {json: false, argv: [], ...report, stdout: (t) => out.push(t), stderr: (t) => err.push(t)})
    return {code, stdout: out.join(''), stderr: err.join('')}
  }

  it('prints "cnet: ..." on stderr, and with --json one document on stdout too', () => {
    expect(run(new ConfigError('no config'), {logFormat: 'text'})).toEqual({code: 3, stdout: '', stderr: 'cnet: no config\n'})
    const json = run(new ConfigError('no config'), {json: true, logFormat: 'text'})
    expect(JSON.parse(json.stdout)).toEqual({error: {code: 'ConfigError', message: 'no config', exitCode: 3}})
    expect(json.stderr).toBe('cnet: no config\n')
  })

  it('with --log-format json the line on stderr is a JSON log record, stdout untouched', () => {
    const result = run(new StoreUnavailableError('etcd: unreachable'), {argv: ['network', 'show', '--log-format', 'json']})
    expect(result.stdout).toBe('')
    expect(result.stderr.endsWith('\n')).toBe(true)
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(JSON.parse(result.stderr)).toEqual({time: expect.any(String), level: 'error', component: 'cnet', msg: 'etcd: unreachable', code: 'StoreUnavailableError', exitCode: 4})
  })

  it('puts the stack of an internal error in the record with --log-level debug', () => {
    const text = run(new TypeError('oops'), {logFormat: 'text', logLevel: 'debug'})
    expect(text.stderr).toMatch(/^cnet: internal error: oops .*\nTypeError: oops\n\s+at /)
    const json = run(new TypeError('oops'), {logFormat: 'json', logLevel: 'debug'})
    expect(json.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(JSON.parse(json.stderr)).toMatchObject({level: 'error', code: 'InternalError', exitCode: 70, stack: expect.stringMatching(/^TypeError: oops\n\s+at /)})
    expect(JSON.parse(run(new TypeError('oops'), {logFormat: 'json', logLevel: 'info'}).stderr).stack).toBeUndefined()
  })

  it.each<[string[], Record<string, string>, string | undefined]>([
    [['--log-format', 'json'], {}, 'json'],
    [['--log-format=json'], {CNET_LOG_FORMAT: 'text'}, 'json'],
    [[], {CNET_LOG_FORMAT: 'json'}, 'json'],
    [['--', '--log-format', 'json'], {}, undefined],
  ])('the log format of %j with %j is %s', (argv, env, format) => {
    expect(requestedLogFormat(argv, env)).toBe(format)
  })
})
