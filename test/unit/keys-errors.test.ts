import {describe, expect, it} from '@jest/globals'
import {describeError, requestedLogLevel} from '../../src/cli/failure.js'
import {parseEndpoints} from '../../src/cli/context.js'
import {ConfigError, ConflictError, StoreUnavailableError, SystemCommandError, UsageError} from '../../src/lib/errors.js'
import {Keys, isIdentAt} from '../../src/store/keys.js'

describe('keys', () => {
  const keys = new Keys()
  it("spells flannel's keys", () => {
    expect(keys.networkConfig()).toBe('/coreos.com/network/config')
    expect(keys.subnet('10.5.52.0-24')).toBe('/coreos.com/network/subnets/10.5.52.0-24')
    expect(keys.subnetNameOf('/coreos.com/network/subnets/10.5.52.0-24')).toBe('10.5.52.0-24')
    expect(keys.subnetNameOf('/elsewhere/10.5.52.0-24')).toBeUndefined()
  })
  it("spells cnet's keys", () => {
    expect(keys.service('default', 'web', 'web-1')).toBe('/cnet/services/default/web/web-1')
    expect(keys.health('default', 'web', 'web-1')).toBe('/cnet/health/default/web/web-1')
    expect(keys.servicesPrefix('default')).toBe('/cnet/services/default/')
    expect(keys.instanceOf('/cnet/health/default/web/web-1')).toEqual({kind: 'health', namespace: 'default', name: 'web', id: 'web-1'})
    expect(keys.instanceOf('/cnet/other/x')).toBeUndefined()
    expect(keys.instanceOf('/cnet/services//web/web-1')).toBeUndefined()
    expect(keys.instanceIdentOf('/cnet/services/default/web/web-1')).toBe('default/web/web-1')
    expect(keys.instanceIdentOf('/cnet/health/default/web/web-1')).toBe('default/web/web-1')
    expect(keys.instanceIdentOf('/cnet/services/default/web')).toBeUndefined()
  })
  it('finds the ident of exactly the keys instanceOf splits, under any prefix (none of the parts empty)', () => {
    const tails = ['services/a/b/c', 'health/a/b/c', 'services/a/b/c/', 'services//b/c', 'services/a//c', 'services/a/b/', 'services/a/b/c/d', 'services/a/b', 'services', 'services/', 'servicesx/a/b/c', 'healthy/a/b/c', 'nodes/n/a/b/c', 'nodes/a/b/c', '/services/a/b/c', 'health/ns-1/web.v2/i-0', 'services/a/b/c\u00e9']
    for (const prefix of ['/cnet', '/', '/x/y/', '/cnet-other']) {
      const k = new Keys({cnetPrefix: prefix})
      for (const key of [...tails.map((t) => `${k.cnetPrefix}/${t}`), ...tails.map((t) => `/cnetx/${t}`), ...tails]) {
        const parts = k.instanceOf(key)
        expect([key, k.instanceIdentOf(key)]).toEqual([key, parts && `${parts.namespace}/${parts.name}/${parts.id}`])
      }
      // A key's tail after the services or health prefix (as dns serve's listing reads it) is an ident exactly when the whole key has one.
      for (const tail of tails.filter((t) => t.startsWith('services/') || t.startsWith('health/'))) {
        const key = `${k.cnetPrefix}/${tail}`
        const after = key.slice(key.startsWith(k.servicesPrefix()) ? k.servicesPrefix().length : k.healthPrefix().length)
        expect([key, isIdentAt(after)]).toEqual([key, k.instanceIdentOf(key) !== undefined])
      }
    }
  })
  it('honours custom prefixes', () => {
    const custom = new Keys({networkPrefix: '/x/net/', cnetPrefix: '/y'})
    expect(custom.networkConfig()).toBe('/x/net/config')
    expect(custom.service('a', 'b', 'c')).toBe('/y/services/a/b/c')
  })
})

describe('errors map to exit codes', () => {
  it.each([
    [new UsageError('--x: bad'), 2],
    [new ConfigError('no config'), 3],
    [new StoreUnavailableError('down'), 4],
    [new ConflictError('taken'), 5],
    [new SystemCommandError('ip failed'), 6],
    [new TypeError('undefined is not a function'), 70],
  ])('%s -> %d', (error, code) => {
    expect(describeError(error).code).toBe(code)
  })

  it('keeps one line and appends the hint', () => {
    expect(describeError(new ConfigError('no config', 'run init')).line).toBe('no config (run init)')
  })

  it('turns oclif parse errors into usage errors', () => {
    const parseError = Object.assign(new Error('Missing required flag network\nSee more help with --help'), {oclif: {exit: 2}})
    expect(describeError(parseError)).toEqual({code: 2, name: 'UsageError', line: 'Missing required flag --network (see --help)'})
  })

  it('validates endpoints', () => {
    expect(parseEndpoints('http://a:1, https://b:2')).toEqual(['http://a:1', 'https://b:2'])
    expect(() => parseEndpoints('a:1')).toThrow(/--etcd-endpoints/)
    expect(() => parseEndpoints('ftp://a:1')).toThrow(/http/)
  })
})

describe('the log level an unparsed command line asks for (whether a stack is printed)', () => {
  it.each<[string[], Record<string, string>, string | undefined]>([
    [['svc', 'list', 'debug'], {}, undefined],
    [['debug', '--namespace', 'debug'], {CNET_LOG_LEVEL: 'info'}, 'info'],
    [['--log-level', 'debug'], {}, 'debug'],
    [['--log-level=debug', 'x'], {}, 'debug'],
    [['--log-level=debug', '--log-level', 'warn'], {}, 'warn'],
    [['--log-level'], {CNET_LOG_LEVEL: 'warn'}, 'warn'],
    [['--log-level', 'info'], {CNET_LOG_LEVEL: 'debug'}, 'info'],
    [['svc', 'list'], {CNET_LOG_LEVEL: 'debug'}, 'debug'],
    [['--', '--log-level', 'debug'], {}, undefined],
    [['--log-level-x=debug', '--debug'], {}, undefined],
  ])('%j with %j -> %s', (argv, env, level) => {
    expect(requestedLogLevel(argv, env)).toBe(level)
  })
})
