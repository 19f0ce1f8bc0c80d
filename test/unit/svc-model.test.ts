import {describe, expect, it} from '@jest/globals'
import {Scheduler} from '../../src/health/scheduler.js'
import {InvalidValueError} from '../../src/lib/errors.js'
import {planCheck} from '../../src/svc/check-plan.js'
import {toDnsInstance} from '../../src/dns/registry.js'
import {canonicalHealthStatus, healthStatusOfBytes} from '../../src/svc/health-status-bytes.js'
import {parseHealth, parseHealthStatus, parseRegistration, parseStoredRegistration} from '../../src/svc/model.js'

/** Registrations are written by anyone with etcd access: the prober must survive any of them. */
describe('a registration read from etcd', () => {
  const registration = (check: unknown) => JSON.stringify({id: 'a', name: 'web', namespace: 'default', address: '10.0.0.1', port: 80, check})

  it('with a check a timer cannot keep is ignored, never scheduled', () => {
    for (const intervalMs of [0, -5, Number.NaN, 2 ** 31, '1000', null]) {
      expect(parseRegistration(registration({type: 'tcp', address: '10.0.0.1:80', intervalMs, timeoutMs: 500, successBeforePassing: 0, failuresBeforeCritical: 0}))).toBeUndefined()
    }
    expect(parseRegistration(registration({type: 'ttl', ttlMs: 0}))).toBeUndefined()
    expect(parseRegistration(registration({type: 'tcp', address: '10.0.0.1:80', intervalMs: 1000, timeoutMs: 0}))).toBeUndefined()
  })

  it('with a sane check, or none, is read', () => {
    expect(parseRegistration(registration({type: 'tcp', address: '10.0.0.1:80', intervalMs: 1000, timeoutMs: 500, successBeforePassing: 0, failuresBeforeCritical: 0}))?.check).toMatchObject({intervalMs: 1000})
    expect(parseRegistration(registration(undefined))).toMatchObject({id: 'a'})
  })

  it('with an optional field of the wrong type is ignored; absent ones get their defaults', () => {
    const base = {id: 'a', name: 'web', namespace: 'default', address: '10.0.0.1', port: 80}
    for (const bad of [{tags: 'x'}, {tags: ['x', 1]}, {meta: []}, {meta: {k: 1}}, {meta: null}, {weight: '1'}, {protocol: 6}, {portName: 5}, {node: false}, {registeredAt: 0}]) {
      expect(parseRegistration(JSON.stringify({...base, ...bad}))).toBeUndefined()
    }
    expect(parseRegistration(JSON.stringify({...base, tags: [], meta: {k: 'v'}}))).toEqual({...base, tags: [], meta: {k: 'v'}, weight: 1, protocol: 'tcp', node: '', registeredAt: ''})
  })

  it('a health record needs a known status and string fields', () => {
    expect(parseHealth(JSON.stringify({status: 'passing'}))).toEqual({status: 'passing', output: '', since: '', checkedAt: '', prober: ''})
    for (const bad of [{status: 'ok'}, {status: 'passing', output: 1}, {status: 'critical', prober: null}, []]) expect(parseHealth(JSON.stringify(bad))).toBeUndefined()
    expect(parseHealth('{not json')).toBeUndefined()
  })

  /** A health record as JSON.stringify writes one: the status first, then only string fields it knows. */
  const writtenAsCnetWrites = (text: string): boolean => {
    try {
      const value = JSON.parse(text) as Record<string, unknown>
      const names = Object.keys(value)
      return JSON.stringify(value) === text && parseHealth(text) !== undefined && names[0] === 'status' && names.every((name) => ['status', 'output', 'since', 'checkedAt', 'prober'].includes(name) && typeof value[name] === 'string')
    } catch {
      return false
    }
  }

  it('a health status is read as parseHealth reads it, for records as cnet writes them and every other text', () => {
    const written = {status: 'warning', output: 'HTTP GET /health: 503 "busy"\n\u0001 é \ud83d\ude00 \\', since: '2026-01-01T00:00:00.000Z', checkedAt: 'x', prober: 'node7'}
    const texts = [
      JSON.stringify(written),
      JSON.stringify({status: 'passing'}),
      JSON.stringify({...written, status: 'critical', output: ''}),
      JSON.stringify({status: 'passing', output: 'a', output2: 'b'}),
      JSON.stringify({status: 'passing', output: 1}),
      JSON.stringify({status: 'passing', prober: null}),
      JSON.stringify({output: 'x', status: 'passing'}), // another order: JSON.parse decides
      JSON.stringify({status: 'ok'}),
      '{"status": "passing"}',
      '{"status":"passing","output":"\\q"}', // an escape JSON does not have
      '{"status":"passing","output":"tab\there"}', // a raw control character
      '{"status":"passing","output":"\\u12"}',
      '{"status":"passing","output":"x"',
      '{"status":"passing"} ',
      '{"status":"passing","output":"a","output":"b"}',
      '{"status":"passing","output":{"nested":"x"}}',
      '[]',
      '',
    ]
    // and records with random text in their fields, of the characters that matter to JSON
    const alphabet = ['a', '"', '\\', '/', '\n', '\u0000', '\u001f', ' ', 'é', '\ud800', 'u', '0']
    let seed = 7
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n
    for (let i = 0; i < 300; i++) {
      const field = Array.from({length: random(12)}, () => alphabet[random(alphabet.length)]).join('')
      texts.push(JSON.stringify({status: 'passing', output: field, prober: field}))
      // and the same text cut or with a character swapped: mostly not JSON
      const text = texts.at(-1)!
      const at = random(text.length)
      texts.push(text.slice(0, at) + alphabet[random(alphabet.length)] + text.slice(at + 1))
    }
    for (const text of texts) expect([text, parseHealthStatus(text)]).toEqual([text, parseHealth(text)?.status])
    // read in the bytes of a reply (dns serve's listing): the same, with other bytes on either side
    for (const text of texts) {
      const bytes = Buffer.concat([Buffer.from('"\\}'), Buffer.from(text), Buffer.from('"}\\')])
      expect([text, healthStatusOfBytes(bytes, 3, bytes.length - 3)]).toEqual([text, parseHealth(text)?.status])
      // records as cnet writes them are read in place, without their text
      const canonical = canonicalHealthStatus(bytes, 3, bytes.length - 3)
      if (writtenAsCnetWrites(text)) expect([text, canonical]).toEqual([text, parseHealth(text)?.status])
      else if (canonical !== undefined) expect([text, canonical]).toEqual([text, parseHealth(text)?.status])
    }
    expect(canonicalHealthStatus(Buffer.from(texts[0]!), 0, Buffer.byteLength(texts[0]!))).toBe('warning')
    // and bytes that are not UTF-8, decoded as etcd's reader decodes them (each a U+FFFD, which a JSON string takes)
    const prefix = Buffer.from('{"status":"critical","output":"')
    for (const tail of [[0xc0, 0x22, 0x7d], [0xe2, 0x80, 0x22, 0x7d], [0xff, 0x5c, 0x6e, 0x22, 0x7d], [0xe2, 0x5c, 0x22, 0x7d], [0xf0, 0x9f, 0x22, 0x22, 0x7d], [0xc3, 0x0a, 0x22, 0x7d]]) {
      const bytes = Buffer.concat([prefix, Buffer.from(tail)])
      expect([tail, healthStatusOfBytes(bytes, 0, bytes.length)]).toEqual([tail, parseHealth(bytes.toString())?.status])
    }
  })

  it('read as stored (for dns serve), it is taken or refused as parseRegistration does, and makes the same DNS record', () => {
    const base = {id: 'A', name: 'Web', namespace: 'default', address: '2001:DB8::1', port: 80}
    const values = [
      base,
      {...base, tags: ['Canary'], protocol: 'udp', portName: 'DNS', weight: 5},
      {...base, maintenance: {reason: 'r', since: 's'}},
      {...base, check: {type: 'ttl', ttlMs: 5000}},
      {...base, tags: 'x'},
      {...base, port: '80'},
      {...base, maintenance: {reason: 1}},
      [],
    ]
    for (const value of values) {
      const text = JSON.stringify(value)
      const full = parseRegistration(text)
      const stored = parseStoredRegistration(text)
      expect(stored === undefined).toBe(full === undefined)
      if (full && stored) expect(toDnsInstance('default/web/a', stored, 2)).toEqual(toDnsInstance('default/web/a', full, 2))
    }
    expect(parseStoredRegistration('{not json')).toBeUndefined()
    for (const text of ['{"status":"warning"}', '{"status":"ok"}', '{"status":"passing","output":1}', '[]', '{']) expect(parseHealthStatus(text)).toBe(parseHealth(text)?.status)
  })

  it('the scheduler refuses an interval that would spin', () => {
    const scheduler = new Scheduler({concurrency: 1, random: () => 0})
    expect(() => scheduler.add('x', 0, async () => {})).toThrow(RangeError)
  })

  it('register refuses intervals and TTLs longer than a day', () => {
    expect(() => planCheck({tcp: '10.0.0.1:80', interval: '30d'})).toThrow(InvalidValueError)
    expect(() => planCheck({ttl: '2d'})).toThrow(/check.ttl: 2d is too long/)
  })
})
