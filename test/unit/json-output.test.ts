import {describe, expect, it} from '@jest/globals'
import {type ChunkWriter, ITEMS_PER_PIECE, JsonArrayWriter, writeJson} from '../../src/cli/json-output.js'

/** A writer that copies each chunk as a file or pipe write does, before it returns. */
function copyingWriter(): {write: ChunkWriter; chunks: Buffer[]} {
  const chunks: Buffer[] = []
  return {chunks, write: (chunk) => chunks.push(Buffer.from(chunk)) > 0}
}

describe('JSON output in pieces', () => {
  const written = (value: unknown) => {
    const {write, chunks} = copyingWriter()
    writeJson(value, write)
    return chunks
  }
  const same = (value: unknown) => expect(Buffer.concat(written(value)).toString()).toBe(JSON.stringify(value, null, 2) + '\n')

  it.each([
    ['an object', {a: 1, b: [1, {c: 'x\ny'}], d: null}],
    ['an empty array', []],
    ['an array of scalars', [1, 'two', null, true]],
    ['an array of nested objects', [{id: 'a', tags: ['x', 'y'], meta: {k: 'v'}, e: []}, {id: 'b', tags: [], meta: {}}]],
    ['an array with what JSON has no value for', [undefined, () => 1, {u: undefined}]],
    ['strings with escapes', ['line\nbreak', 'tab\t', 'quote"', 'é', '\u2028', '\ud83d\ude00', '\ud800']],
    ['a scalar', 'text'],
  ])('gives the bytes JSON.stringify gives: %s', (_what, value) => same(value))

  it.each([1, ITEMS_PER_PIECE - 1, ITEMS_PER_PIECE, ITEMS_PER_PIECE + 1, 3 * ITEMS_PER_PIECE + 7])('cuts an array of %d items into pieces, together the same bytes', (count) => {
    const rows = Array.from({length: count}, (_, i) => ({namespace: 'default', name: `svc${i}`, id: `i${i}`, address: `10.0.${i >> 8}.${i & 255}`, tags: ['a', 'é'], meta: {zone: 'z'}, none: undefined}))
    expect(written(rows).length).toBe(Math.ceil(count / ITEMS_PER_PIECE) + 1)
    same(rows)
  })

  it('gives a piece bigger than its buffer one of its own', () => {
    const rows = Array.from({length: ITEMS_PER_PIECE * 2 + 1}, (_, i) => ({id: `i${i}`, output: (i % 2 ? 'é' : 'x').repeat(4000)}))
    same(rows)
  })

  it.each([0, 1, ITEMS_PER_PIECE - 1, ITEMS_PER_PIECE, ITEMS_PER_PIECE + 1, 3 * ITEMS_PER_PIECE + 7])('writes an array of %d items given a part at a time (empty parts too) in the bytes of the whole', (count) => {
    const rows = Array.from({length: count}, (_, i) => ({id: `i${i}`, tags: ['a', 'é'], none: undefined, skipped: i % 3 === 0 ? undefined : i}))
    for (const partSize of [1, 7, ITEMS_PER_PIECE, ITEMS_PER_PIECE + 3]) {
      const {write, chunks} = copyingWriter()
      const writer = new JsonArrayWriter(write)
      writer.add([])
      for (let start = 0; start < count; start += partSize) writer.add(rows.slice(start, start + partSize))
      writer.add([])
      writer.end()
      expect(Buffer.concat(chunks).toString()).toBe(JSON.stringify(rows, null, 2) + '\n')
      // written as the parts come, a piece of ITEMS_PER_PIECE at a time: never the whole at the end
      expect(chunks.length).toBe(Math.ceil(count / ITEMS_PER_PIECE) + 1)
    }
  })

  const rows = Array.from({length: 3 * ITEMS_PER_PIECE}, (_, i) => ({id: `i${i}`, address: `10.0.${i >> 8}.${i & 255}`}))

  it('never writes again into a chunk whose write was queued', () => {
    const held: Buffer[] = []
    writeJson(rows, (chunk) => held.push(chunk) < 0) // kept as given, reported queued
    expect(Buffer.concat(held).toString()).toBe(JSON.stringify(rows, null, 2) + '\n')
  })

  it('encodes the next piece into the same memory once a write went out', () => {
    const held: Buffer[] = []
    writeJson(rows, (chunk) => held.push(chunk) > 0) // kept as given, reported out
    const [first, second, third] = held
    expect(second!.buffer).toBe(first!.buffer)
    expect(third!.buffer).toBe(first!.buffer)
  })
})
