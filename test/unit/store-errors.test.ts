import {describe, expect, it} from '@jest/globals'
import {ConfigError, StoreUnavailableError} from '../../src/lib/errors.js'
import {isStoreUnavailable} from '../../src/store/errors.js'
import {StoreCompactedError, isCompacted, isTooLarge, toStoreError} from '../../src/store/etcd-errors.js'
import {prefixEnd} from '../../src/store/etcd-store.js'

/** An error of the class etcd3 would throw (classification is by class name). */
function etcd3Error(className: string, message: string): Error {
  const Named = {[className]: class extends Error {}}[className]!
  return new Named(message)
}

describe('store errors become typed errors with exit codes', () => {
  const endpoints = ['http://127.0.0.1:2379']
  it.each([
    ['refused', etcd3Error('GRPCConnectFailedError', '14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:2379'), 4, /unreachable at http:\/\/127.0.0.1:2379 \(get \/k: connect ECONNREFUSED 127.0.0.1:2379\)/],
    ['deadline', etcd3Error('StoreDeadlineError', 'no answer within 5000 ms'), 4, /unreachable .*no answer within 5000 ms/],
    ['breaker open', etcd3Error('BrokenCircuitError', 'Execution prevented because the circuit breaker is open'), 4, /unreachable/],
    ['wrong password', etcd3Error('EtcdAuthenticationFailedError', 'etcdserver: authentication failed, invalid user ID or password'), 3, /authentication failed/],
    ['auth not enabled', etcd3Error('GRPCFailedPreconditionError', '9 FAILED_PRECONDITION: etcdserver: authentication is not enabled'), 3, /authentication disabled, but a user name was given/],
    ['HTTP/2 but not etcd', etcd3Error('GRPCNotImplementedError', '12 UNIMPLEMENTED: Received HTTP status code 404'), 4, /http:\/\/127.0.0.1:2379 answered HTTP 404 to get \/k: not an etcd v3 endpoint/],
    ['unknown service', etcd3Error('GRPCNotImplementedError', '12 UNIMPLEMENTED: unknown service etcdserverpb.KV'), 4, /does not implement the etcd API/],
    ['HTTP/1', etcd3Error('GRPCInternalError', '13 INTERNAL: Protocol error'), 4, /does not speak etcd's gRPC/],
    ['too large', etcd3Error('GRPCResourceExhastedError', '8 RESOURCE_EXHAUSTED: Received message larger than max (25213047 vs 4194304)'), 4, /larger than the 16 MB a reply may hold/],
    ['compacted', new StoreCompactedError('revision 5 compacted'), 4, /compacted the revision being read/],
  ])('%s -> exit %d', (_what, error, exitCode, message) => {
    const converted = toStoreError(error, endpoints, 'get /k') as ConfigError | StoreUnavailableError
    expect(converted.exitCode).toBe(exitCode)
    expect(converted.message).toMatch(message)
    expect(isStoreUnavailable(converted)).toBe(exitCode === 4)
  })

  it('names every endpoint when there are several', () => {
    const converted = toStoreError(etcd3Error('GRPCNotImplementedError', 'Received HTTP status code 404'), ['http://a:1', 'http://b:2'], 'list /x')
    expect(converted.message).toContain('one of http://a:1,http://b:2 answered HTTP 404')
  })

  it('passes a typed error through and leaves an unknown one as it is (a bug, exit 70)', () => {
    const typed = new ConfigError('bad')
    expect(toStoreError(typed, endpoints, 'x')).toBe(typed)
    const bug = new TypeError('undefined is not a function')
    expect(toStoreError(bug, endpoints, 'x')).toBe(bug)
    expect(toStoreError('a string', endpoints, 'x')).toBeInstanceOf(Error)
  })

  it('tells compaction and too-large replies apart from the rest', () => {
    expect(isCompacted(new Error('etcdserver: mvcc: required revision has been compacted'))).toBe(true)
    expect(isCompacted(new Error('other'))).toBe(false)
    expect(isTooLarge(new Error('8 RESOURCE_EXHAUSTED: Received message larger than max'))).toBe(true)
    expect(isTooLarge(new Error('other'))).toBe(false)
  })
})

describe("a prefix's range end (etcd's range_end)", () => {
  it.each([
    ['/a/', [0x2f, 0x61, 0x30]],
    ['a', [0x62]],
    ['a\u00ff', [0x61, 0xc3, 0xc0]],
    ['\u{10ffff}', [0xf4, 0x8f, 0xbf, 0xc0]],
    ['', [0]],
  ])('%j ends before %j', (prefix, end) => {
    expect([...prefixEnd(prefix)]).toEqual(end)
  })
})
