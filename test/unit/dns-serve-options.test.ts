import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from '@jest/globals'
import {readServeConfigFile} from '../../src/dns/config-file.js'
import {upstreamsFromResolvConf} from '../../src/dns/resolv-conf.js'
import {type ServeSettings, mergeSettings, resolveFromSources, resolveServeOptions, settingsFromObject} from '../../src/dns/serve-options.js'
import {ConfigError, InvalidValueError} from '../../src/lib/errors.js'
import {parseCidr} from '../../src/net/ip.js'

const dir = mkdtempSync(join(tmpdir(), 'cnd-serve-options-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
const file = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}
const resolvConf = file('resolv.conf', '# comment\nnameserver 10.0.0.2\nnameserver 127.0.0.1\nnameserver fd00::53\nsearch x\n')
const context = {cores: 2, resolvConf}

describe('resolveServeOptions', () => {
  it('fills in the defaults: both wildcards, cluster.local, resolv.conf less our own addresses, one worker per core', () => {
    const options = resolveServeOptions({}, context)
    expect(options).toMatchObject({
      listen: [{host: '0.0.0.0', port: 53}, {host: '::', port: 53}],
      zone: 'cluster.local',
      upstreams: [{host: '10.0.0.2', port: 53}, {host: '127.0.0.1', port: 53}, {host: 'fd00::53', port: 53}],
      forward: [],
      hosts: [],
      ttlSeconds: 5,
      negativeTtlSeconds: 5,
      onlyPassing: false,
      maxConcurrent: 1000,
      forwardTimeoutMs: 2000,
      http: {health: undefined, ready: undefined, metrics: undefined},
      logQueries: false,
      workers: 2,
    })
    expect(options.allowRecursion).toEqual([parseCidr('127.0.0.0/8'), parseCidr('::1/128')])
    expect(resolveServeOptions({listen: ['127.0.0.1:5353']}, context).upstreams.map((u) => u.host)).toEqual(['10.0.0.2', 'fd00::53'])
    expect(resolveServeOptions({}, {...context, cores: 200}).workers).toBe(64)
    expect(resolveServeOptions({}, {...context, clusterNetwork: parseCidr('10.5.0.0/16')}).allowRecursion).toContainEqual(parseCidr('10.5.0.0/16'))
  })

  it('reads every setting', () => {
    const options = resolveServeOptions(
      {
        listen: ['127.0.0.1:5353', '[::1]:5353'],
        zone: 'Cluster.Example.',
        upstream: ['1.1.1.1', '[2606:4700::1111]:5353'],
        ttl: '30s',
        'negative-ttl': '1m',
        'only-passing': true,
        'allow-recursion': ['10.0.0.0/8', '192.0.2.7'],
        'max-concurrent': 50,
        health: '127.0.0.1:8080',
        ready: '127.0.0.1:8181',
        metrics: '[::1]:9153',
        workers: 1,
        'log-queries': true,
        forward: {'corp.example': ['10.1.0.53'], 'eu.corp.example.': ['10.2.0.53:5353', '10.2.0.54']},
        hosts: {'GW.corp.example': ['192.0.2.1', 'fd00:0::1']},
      },
      context,
    )
    expect(options).toMatchObject({
      zone: 'cluster.example',
      upstreams: [{host: '1.1.1.1', port: 53}, {host: '2606:4700::1111', port: 5353}],
      ttlSeconds: 30,
      negativeTtlSeconds: 60,
      onlyPassing: true,
      maxConcurrent: 50,
      http: {health: {host: '127.0.0.1', port: 8080}, ready: {host: '127.0.0.1', port: 8181}, metrics: {host: '::1', port: 9153}},
      workers: 1,
      logQueries: true,
      // longest first: the first match is the longest suffix
      forward: [
        {domain: 'eu.corp.example', upstreams: [{host: '10.2.0.53', port: 5353}, {host: '10.2.0.54', port: 53}]},
        {domain: 'corp.example', upstreams: [{host: '10.1.0.53', port: 53}]},
      ],
      hosts: [{name: 'gw.corp.example', addresses: ['192.0.2.1', 'fd00::1']}],
    })
    expect(options.allowRecursion).toEqual([parseCidr('10.0.0.0/8'), parseCidr('192.0.2.7/32')])
  })

  it.each<[string, ServeSettings, string]>([
    ['listen', {listen: ['nowhere']}, 'listen: "nowhere" is not an address:port'],
    ['listen without a port', {listen: ['127.0.0.1:0']}, 'listen'],
    ['zone', {zone: 'not a zone'}, 'zone: "not a zone" is not a domain name'],
    ['upstream', {upstream: ['dns.google']}, 'upstream: "dns.google"'],
    ['ttl', {ttl: 'soon'}, 'ttl: "soon" is not a duration'],
    ['ttl too long', {ttl: '30d'}, 'ttl: 30d is too long'],
    ['negative-ttl', {'negative-ttl': '-1s'}, 'negative-ttl'],
    ['allow-recursion', {'allow-recursion': ['10.0.0.0/33']}, 'allow-recursion: "10.0.0.0/33" is not a CIDR'],
    ['max-concurrent', {'max-concurrent': 0}, 'max-concurrent: 0 is not a positive integer'],
    ['workers', {workers: 65}, 'workers: 65 is out of range'],
    ['health', {health: '127.0.0.1'}, 'health: "127.0.0.1"'],
    ['metrics', {metrics: 'x:1'}, 'metrics'],
    ['a stub domain', {forward: {'not a domain': ['10.0.0.1']}}, 'forward: "not a domain" is not a domain name'],
    ['a stub domain without upstreams', {forward: {'corp.example': []}}, 'forward.corp.example: expected at least one upstream'],
    ['a stub domain upstream', {forward: {'corp.example': ['nope']}}, 'forward.corp.example: "nope"'],
    ['a host address', {hosts: {'gw.example': ['192.0.2.300']}}, 'hosts.gw.example: "192.0.2.300" is not an IP address'],
    ['a host without addresses', {hosts: {'gw.example': []}}, 'hosts.gw.example: expected at least one address'],
  ])('a bad %s is an InvalidValueError naming its field', (_label, settings, message) => {
    let error: unknown
    try {
      resolveServeOptions(settings, context)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InvalidValueError)
    expect((error as Error).message).toContain(message)
  })
})

describe('settings from a config file', () => {
  it('takes the long flag names as keys, a string for a one-item list, and null as absent', () => {
    expect(settingsFromObject({listen: '127.0.0.1:5353', 'only-passing': true, workers: '2', ttl: null, hosts: {'a.example': '192.0.2.1'}})).toEqual({listen: ['127.0.0.1:5353'], 'only-passing': true, workers: 2, hosts: {'a.example': ['192.0.2.1']}})
  })

  it.each<[string, unknown, string]>([
    ['not an object', [1], 'config: expected an object of settings'],
    ['an unknown key', {upstreams: ['1.1.1.1']}, 'upstreams: is not a setting'],
    ['a list of numbers', {upstream: [53]}, 'upstream: expected a string or a list of strings'],
    ['a number for a string', {zone: 5}, 'zone: expected a string'],
    ['a string for a boolean', {'log-queries': 'yes'}, 'log-queries: expected true or false'],
    ['a fraction for an integer', {workers: 1.5}, 'workers: expected an integer'],
    ['a list for a map', {forward: ['x']}, 'forward: expected an object'],
    ['a bad map value', {forward: {'a.example': 5}}, 'forward.a.example: expected a string or a list of strings'],
  ])('%s is an InvalidValueError', (_label, raw, message) => {
    expect(() => settingsFromObject(raw)).toThrow(InvalidValueError)
    expect(() => settingsFromObject(raw)).toThrow(message)
  })

  it('reads JSON, and names the file (exit 3) when it cannot be read, parsed or checked', async () => {
    const good = file('good.json', JSON.stringify({zone: 'example.internal', forward: {'corp.example': ['10.0.0.53']}}))
    expect(await readServeConfigFile(good)).toEqual({zone: 'example.internal', forward: {'corp.example': ['10.0.0.53']}})
    for (const [path, message] of [
      [join(dir, 'missing.json'), 'missing.json: cannot read the config file (ENOENT)'],
      [file('broken.json', '{"zone": '), 'broken.json: not valid JSON'],
      [file('unknown.json', '{"zones": "x"}'), 'unknown.json: zones: is not a setting'],
    ] as const) {
      const error = await readServeConfigFile(path).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).exitCode).toBe(3)
      expect((error as Error).message).toContain(message)
    }
  })
})

describe('command line over config file', () => {
  it('keeps the command line value of a setting given on both, and the file for the rest', () => {
    expect(mergeSettings({zone: 'a.example', upstream: ['10.0.0.1'], ttl: '9s'}, {zone: 'b.example', upstream: undefined, 'only-passing': false})).toEqual({zone: 'b.example', upstream: ['10.0.0.1'], ttl: '9s', 'only-passing': false})
    const options = resolveFromSources({upstream: ['10.9.9.9']}, {path: 'dns.json', settings: {upstream: ['10.0.0.1'], hosts: {'gw.example': ['192.0.2.1']}}}, context)
    expect(options.upstreams).toEqual([{host: '10.9.9.9', port: 53}])
    expect(options.hosts).toEqual([{name: 'gw.example', addresses: ['192.0.2.1']}])
  })

  it("says where a bad value is: the file's as a ConfigError naming the file and key, the command line's as InvalidValueError", () => {
    const fromFile = (() => {
      try {
        resolveFromSources({}, {path: '/etc/cnet/dns.json', settings: {ttl: 'soon'}}, context)
      } catch (error) {
        return error
      }
    })()
    expect(fromFile).toBeInstanceOf(ConfigError)
    expect((fromFile as Error).message).toBe('/etc/cnet/dns.json: ttl: "soon" is not a duration')
    expect(() => resolveFromSources({ttl: 'soon'}, {path: 'dns.json', settings: {ttl: '5s'}}, context)).toThrow(InvalidValueError)
    // a bad file value the command line overrides is still reported: the file is wrong
    expect(() => resolveFromSources({ttl: '5s'}, {path: 'dns.json', settings: {ttl: 'soon'}}, context)).toThrow(ConfigError)
  })
})

describe('upstreams from resolv.conf', () => {
  it('reads nameserver lines (a zone index dropped), skips our own addresses, and gives none for a missing file', () => {
    const path = file('resolv2.conf', 'nameserver 10.0.0.2\nnameserver fe80::1%eth0\nnameserver bogus\n')
    expect(upstreamsFromResolvConf(['10.0.0.2'], path)).toEqual([{host: 'fe80::1', port: 53}])
    expect(upstreamsFromResolvConf([], join(dir, 'nothing'))).toEqual([])
  })
})
