import {describe, expect, it} from '@jest/globals'
import {
  type Shape,
  anyJson,
  arrayOf,
  bool,
  checkShape,
  extend,
  mapOf,
  named,
  namedShapes,
  newCoverage,
  noted,
  nullable,
  num,
  object,
  oneOf,
  optional,
  renderBlock,
  renderInline,
  str,
  union,
  unseen,
} from '../../scripts/docs/shape.js'

const lease = object({subnet: str, ttlSeconds: nullable(num), ipv6Subnet: optional(str, 'with IPv6'), action: oneOf('created', 'reused')})

describe('checkShape: real output against a documented shape', () => {
  it.each<[string, unknown, Shape, string[]]>([
    ['a fitting object', {subnet: 'a', ttlSeconds: null, action: 'created'}, lease, []],
    ['an optional field present', {subnet: 'a', ttlSeconds: 5, ipv6Subnet: 'b', action: 'reused'}, lease, []],
    ['a missing field', {ttlSeconds: 5, action: 'reused'}, lease, ['$.subnet: missing']],
    ['an undocumented field', {subnet: 'a', ttlSeconds: 5, action: 'reused', extra: 1}, lease, ['$.extra: not documented']],
    ['a value not among the documented ones', {subnet: 'a', ttlSeconds: 5, action: 'taken'}, lease, ['$.action: "taken" is not one of "created", "reused"']],
    ['a number where a string is documented', {subnet: 7, ttlSeconds: 5, action: 'reused'}, lease, ['$.subnet: expected a string, got number']],
    ['an array of objects, by index', [{subnet: 'a', ttlSeconds: 1, action: 'reused'}, {subnet: 'b', action: 'reused'}], arrayOf(lease), ['$[1].ttlSeconds: missing']],
    ['an object where an array is documented', {}, arrayOf(str), ['$: expected an array, got object']],
    ['a map of strings', {a: 'x', b: 'y'}, mapOf(str), []],
    ['a map with a bad value', {a: 'x', b: 2}, mapOf(str), ['$["b"]: expected a string, got number']],
    ['null where an object is documented', null, lease, ['$: expected an object, got null']],
    ['anything where any JSON is documented', {deep: [1, {x: null}]}, anyJson, []],
    ['a boolean', true, bool, []],
    [
      'a union that nothing fits, told by the closest variant',
      {type: 'tcp', address: 5},
      union(object({type: oneOf('http'), url: str}), object({type: oneOf('tcp'), address: str})),
      ['$: fits none of {type: "http"; url: string} | {type: "tcp"; address: string}', '$.address: expected a string, got number'],
    ],
  ])('%s', (_what, value, shape, problems) => {
    expect(checkShape(value, shape)).toEqual(problems)
  })
})

describe('unseen: documented parts no output showed', () => {
  it('names optional fields never present and union variants never matched, but not the null of a nullable', () => {
    const check = union(object({type: oneOf('http')}), object({type: oneOf('ttl'), ttlMs: optional(num, 'x')}))
    const shape = arrayOf(object({name: str, since: nullable(str), extra: optional(str, 'sometimes'), check: nullable(check)}))
    const coverage = newCoverage()
    expect(checkShape([{name: 'a', since: null, check: {type: 'http'}}], shape, coverage)).toEqual([])
    expect(unseen(shape, coverage)).toEqual(['$[].extra: optional field never seen', '$[].check: variant {type: "ttl"; ttlMs?: number} never seen'])
    expect(checkShape([{name: 'b', since: 'x', extra: 'e', check: {type: 'ttl', ttlMs: 1}}], shape, coverage)).toEqual([])
    expect(unseen(shape, coverage)).toEqual([])
  })
})

describe('rendering shapes as types', () => {
  it.each<[string, Shape]>([
    ['string', str],
    ['number | null', nullable(num)],
    ['"tcp" | "udp"', oneOf('tcp', 'udp')],
    ['("a" | "b")[]', arrayOf(oneOf('a', 'b'))],
    ['{[key: string]: string[]}', mapOf(arrayOf(str))],
    ['LeaseRow[]', arrayOf(named('LeaseRow', object({})))],
    ['{"odd-key": string; ok?: boolean}', object({'odd-key': str, ok: optional(bool, 'n')})],
  ])('%s', (text, shape) => {
    expect(renderInline(shape)).toBe(text)
  })

  it('a block: one field a line with its note, nested objects indented, named shapes by name', () => {
    const shape = object({subnet: noted(str, 'the subnet'), ipv6Subnet: optional(str, 'with IPv6'), device: object({name: str}), row: named('Row', object({a: str}))})
    expect(renderBlock(shape)).toBe(['{', '  subnet: string  // the subnet', '  ipv6Subnet?: string  // with IPv6', '  device: {', '    name: string', '  }', '  row: Row', '}'].join('\n'))
  })

  it('extend adds fields to a named object; namedShapes lists each named shape once', () => {
    const row = named('Row', object({a: str, inner: named('Inner', object({b: num}))}))
    const more = extend(row, {c: bool})
    expect(renderInline(more)).toBe('{a: string; inner: Inner; c: boolean}')
    expect([...namedShapes(arrayOf(union(row, row))).keys()]).toEqual(['Row', 'Inner'])
  })
})
