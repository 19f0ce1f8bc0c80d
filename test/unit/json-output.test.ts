import {describe, expect, it} from '@jest/globals'
import {ITEMS_PER_PIECE, jsonChunks} from '../../src/cli/json-output.js'

describe('JSON output in pieces', () => {
  const same = (value: unknown) => expect(Buffer.concat([...jsonChunks(value)]).toString()).toBe(JSON.stringify(value, null, 2) + '\n')

  it.each([
    ['an object', {a: 1, b: [1, {c: 'x\ny'}], d: null}],
    ['an empty array', []],
    ['an array of scalars', [1, 'two', null, true]],
    ['an array of nested objects', [{id: 'a', tags: ['x', 'y'], meta: {k: 'v'}, e: []}, {id: 'b', tags: [], meta: {}}]],
    ['an array with what JSON has no value for', [undefined, () => 1, {u: undefined}]],
    ['strings with escapes', ['line\nbreak', 'tab\t', 'quote"', 'é', '\u2028']],
    ['a scalar', 'text'],
  ])('gives the bytes JSON.stringify gives: %s', (_what, value) => same(value))

  it.each([1, ITEMS_PER_PIECE - 1, ITEMS_PER_PIECE, ITEMS_PER_PIECE + 1, 3 * ITEMS_PER_PIECE + 7])('cuts an array of %d items into pieces, together the same bytes', (count) => {
    const rows = Array.from({length: count}, (_, i) => ({namespace: 'default', name: `svc${i}`, id: `i${i}`, address: `10.0.${i >> 8}.${i & 255}`, tags: ['a', 'é'], meta: {zone: 'z'}, none: undefined}))
    expect([...jsonChunks(rows)].length).toBe(2 * Math.ceil(count / ITEMS_PER_PIECE) + 1)
    same(rows)
  })
})
