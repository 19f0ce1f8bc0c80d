import {describe, expect, it} from '@jest/globals'
import {InvalidValueError} from '../../src/lib/errors.js'
import {planCheck} from '../../src/svc/check-plan.js'
import {type RegisterRequest, planRegistration} from '../../src/svc/registration-plan.js'
import {parseHeaders, parseHostPort, parseMeta, splitCommandLine} from '../../src/svc/validate.js'

const base: RegisterRequest = {
  name: 'web',
  namespace: 'default',
  address: '10.5.52.7',
  port: '8080',
  protocol: 'tcp',
  tags: [],
  meta: [],
  weight: 1,
  node: 'host1',
  check: {},
}
const now = new Date('2025-01-01T00:00:00Z')
const plan = (over: Partial<RegisterRequest>, check: RegisterRequest['check'] = {}) => planRegistration({...base, ...over, check}, now)

describe('registration validation', () => {
  it('builds a registration with defaults: id = name, no check, no health', () => {
    const {registration, initialHealth} = plan({})
    expect(registration).toEqual({id: 'web', name: 'web', namespace: 'default', address: '10.5.52.7', port: 8080, protocol: 'tcp', tags: [], meta: {}, weight: 1, node: 'host1', registeredAt: now.toISOString()})
    expect(initialHealth).toBeUndefined()
  })

  it.each<[Partial<RegisterRequest>, RegisterRequest['check'], RegExp]>([
    [{name: 'Web'}, {}, /^name: "Web" is not a DNS label/],
    [{name: 'a'.repeat(64)}, {}, /^name: "a{64}" is not a DNS label/],
    [{name: '-web'}, {}, /^name: "-web"/],
    [{id: 'web_1'}, {}, /^id: "web_1" is not a DNS label/],
    [{namespace: 'a.b'}, {}, /^namespace: "a.b"/],
    [{address: '10.5.52'}, {}, /^address: "10.5.52" is not an IP address/],
    [{address: 'example.com'}, {}, /^address:/],
    [{port: '0'}, {}, /^port: "0" is not a port/],
    [{port: '65536'}, {}, /^port:/],
    [{port: '80x'}, {}, /^port:/],
    [{protocol: 'sctp'}, {}, /^protocol: "sctp"/],
    [{portName: 'HTTP'}, {}, /^portName:/],
    [{tags: ['']}, {}, /^tags:/],
    [{meta: ['novalue']}, {}, /^meta: "novalue" is not KEY=VALUE/],
    [{meta: ['bad key=1']}, {}, /^meta: key "bad key" may hold only/],
    [{meta: [`${'k'.repeat(129)}=1`]}, {}, /^meta: key .* is 129 characters long/],
    [{meta: [`k=${'v'.repeat(513)}`]}, {}, /^meta: the value of "k" is 513 characters long/],
    [{meta: Array.from({length: 65}, (_, i) => `k${i}=v`)}, {}, /^meta: 65 keys given/],
    [{weight: 0}, {}, /^weight: 0 is out of range/],
    [{node: 'a b'}, {}, /^node:/],
    [{initialStatus: 'passing'}, {}, /^initialStatus: only with a check/],
    [{initialStatus: 'ok'}, {tcp: '127.0.0.1:80'}, /^initialStatus: "ok" is not a health status/],
    [{}, {http: 'ftp://x/'}, /^check.http: "ftp:\/\/x\/" must be an http/],
    [{}, {http: 'not a url'}, /^check.http: "not a url" is not a URL/],
    [{}, {tcp: '127.0.0.1'}, /^check.tcp: "127.0.0.1" is not HOST:PORT/],
    [{}, {tcp: '127.0.0.1:99999'}, /^check.tcp: port 99999 is out of range/],
    [{}, {tcp: '[10.0.0.1]:80'}, /^check.tcp: "10.0.0.1" is not an IPv6 address/],
    [{}, {exec: '  '}, /^check.exec: no command given/],
    [{}, {exec: '"unbalanced'}, /^check.exec: unbalanced "/],
    [{}, {ttl: 'soon'}, /^check.ttl: "soon" is not a duration/],
    [{}, {tcp: 'db:5432', http: 'http://x/'}, /^check: http and tcp are both given \(give one check per instance\)/],
    [{}, {tcp: 'db:5432', interval: '500ms'}, /^check.interval: 500ms is too short/],
    [{}, {tcp: 'db:5432', interval: '2s', timeout: '3s'}, /^check.timeout: 3s is longer than the interval 2s/],
    [{}, {tcp: 'db:5432', timeout: 'x'}, /^check.timeout: "x" is not a duration/],
    [{}, {tcp: 'db:5432', failuresBeforeCritical: -1}, /^check.failuresBeforeCritical: -1 is out of range/],
    [{}, {tcp: 'db:5432', deregisterCriticalAfter: '30s'}, /^check.deregisterCriticalAfter: 30s is too short/],
    [{}, {tcp: 'db:5432', method: 'POST'}, /^check.method: only for an http check/],
    [{}, {http: 'http://x/', method: 'get'}, /^check.method: "get" is not an HTTP method/],
    [{}, {http: 'http://x/', headers: ['NoColon']}, /^check.headers: "NoColon"/],
    [{}, {interval: '5s'}, /^check.interval: given without a check/],
    [{}, {ttl: '30s', interval: '5s'}, /^check.interval: not for a TTL check/],
  ])('%j %j is refused', (over, check, message) => {
    let error: unknown
    try {
      plan(over, check)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InvalidValueError)
    expect((error as InvalidValueError).oneLine()).toMatch(message)
    expect((error as InvalidValueError).oneLine()).not.toContain('\n')
  })

  it('plans each kind of check with Consul-like defaults', () => {
    expect(planCheck({http: 'http://127.0.0.1:8080/health', headers: ['X-A: 1', 'X-A: 2']})).toEqual({
      type: 'http', url: 'http://127.0.0.1:8080/health', method: 'GET', headers: {'X-A': ['1', '2']}, tlsSkipVerify: false,
      intervalMs: 10_000, timeoutMs: 5000, successBeforePassing: 0, failuresBeforeCritical: 0,
    })
    // The default timeout never exceeds the interval.
    expect(planCheck({tcp: '[::1]:53', interval: '2s'})).toMatchObject({type: 'tcp', address: '[::1]:53', intervalMs: 2000, timeoutMs: 2000})
    expect(planCheck({exec: `/bin/check --name 'a b' "c\\"d"`, interval: '1s', timeout: '500ms'})).toMatchObject({type: 'exec', args: ['/bin/check', '--name', 'a b', 'c"d'], timeoutMs: 500})
    expect(planCheck({ttl: '30s', deregisterCriticalAfter: '5m'})).toEqual({type: 'ttl', ttlMs: 30_000, deregisterCriticalAfterMs: 300_000})
    expect(planCheck({tcp: 'db:1', deregisterCriticalAfter: '2s'}, {minDeregisterAfterMs: 1000})).toMatchObject({deregisterCriticalAfterMs: 2000})
    expect(planCheck({})).toBeUndefined()
  })

  it('writes an initial health record only when asked', () => {
    const {initialHealth} = plan({initialStatus: 'warning'}, {tcp: '127.0.0.1:80'})
    expect(initialHealth).toMatchObject({status: 'warning', prober: 'register', since: now.toISOString()})
  })

  it('parses meta, headers, host:port and command lines', () => {
    expect(parseMeta('--meta', ['a=1', 'b=x=y', 'c='])).toEqual({a: '1', b: 'x=y', c: ''})
    expect(() => parseMeta('--meta', ['a=1', 'a=2'])).toThrow(/given twice/)
    expect(parseMeta('--meta', Array.from({length: 64}, (_, i) => `k${i}=v`))).toHaveProperty('k63', 'v')
    expect(parseHeaders('--h', ['Authorization: Bearer a:b'])).toEqual({Authorization: ['Bearer a:b']})
    expect(parseHostPort('--tcp', 'db.internal:5432')).toEqual({host: 'db.internal', port: 5432})
    expect(parseHostPort('--tcp', '[fd00::1]:80')).toEqual({host: 'fd00::1', port: 80})
    expect(splitCommandLine('--x', 'a  b\\ c')).toEqual(['a', 'b c'])
    expect(splitCommandLine('--x', "echo ''")).toEqual(['echo', ''])
  })
})
