/**
 * JSON.stringify(value, null, 2) and a newline, as UTF-8 in pieces: `svc list --json`
 * over 100,000 instances is some 50 MB of text. As one string it was encoded on its way
 * to stdout at a fraction of the speed of a flat string, and held twice in memory. An
 * array is stringified ITEMS_PER_PIECE items at a time, as an array of its own: its
 * items are indented just as they are in the whole, so the pieces between its "[\n" and
 * "\n]" are the whole's bytes.
 *
 * A piece stays small (some 50 KB for 100 instances): V8 puts a string much larger in a
 * space of its own, fresh memory each time, and writing 1,000 instances at a time spent
 * most of its time faulting those pages in (190 ms of 300 for 100,000 instances).
 */
export const ITEMS_PER_PIECE = 100

export function* jsonChunks(value: unknown): Generator<Buffer> {
  if (!Array.isArray(value) || value.length === 0) {
    yield Buffer.from(JSON.stringify(value, null, 2) + '\n')
    return
  }
  for (let start = 0; start < value.length; start += ITEMS_PER_PIECE) yield* piece(value.slice(start, start + ITEMS_PER_PIECE), start > 0)
  yield Buffer.from('\n]\n')
}

/** Items of an array as its bytes in jsonChunks: "[\n" before the first, ",\n" before the others. */
function* piece(items: readonly unknown[], continued: boolean): Generator<Buffer> {
  const text = Buffer.from(JSON.stringify(items, null, 2))
  yield Buffer.from(continued ? ',\n' : '[\n')
  // Without the piece's own "[\n" and "\n]" (ASCII: two bytes each).
  yield text.subarray(2, text.length - 2)
}

/**
 * An array written as its items come, in the bytes jsonChunks gives for the whole:
 * `svc list --json` writes each service as its listing hands it on.
 */
export class JsonArrayWriter {
  private waiting: unknown[] = []
  private started = false

  constructor(private readonly write: (chunk: Buffer) => void) {}

  add(items: readonly unknown[]): void {
    for (const item of items) {
      this.waiting.push(item)
      if (this.waiting.length === ITEMS_PER_PIECE) this.flush()
    }
  }

  end(): void {
    this.flush()
    this.write(Buffer.from(this.started ? '\n]\n' : '[]\n'))
  }

  private flush(): void {
    if (this.waiting.length === 0) return
    for (const chunk of piece(this.waiting, this.started)) this.write(chunk)
    this.started = true
    this.waiting = []
  }
}
