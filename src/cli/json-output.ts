/**
 * JSON.stringify(value, null, 2) and a newline, as UTF-8 in pieces: `svc list --json`
 * over 100,000 instances is some 50 MB of text. As one string it was encoded on its way
 * to stdout at a fraction of the speed of a flat string, and held twice in memory. An
 * array is stringified ITEMS_PER_PIECE items at a time, as an array of its own: its
 * items are indented just as they are in the whole, so the piece between its "[\n" and
 * "\n]" is the whole's bytes.
 *
 * A piece stays small (some 50 KB for 100 instances): V8 puts a string much larger in a
 * space of its own, fresh memory each time, and writing 1,000 instances at a time spent
 * most of its time faulting those pages in (190 ms of 300 for 100,000 instances).
 */
export const ITEMS_PER_PIECE = 100

/**
 * Writes a chunk out; true when its bytes are out by the time it returns (stdout to a
 * file or a pipe, on Linux), so their memory may be written again.
 */
export type ChunkWriter = (chunk: Buffer) => boolean

/** Writes `value` as JSON.stringify(value, null, 2) and a newline, an array in pieces. */
export function writeJson(value: unknown, write: ChunkWriter): void {
  if (!Array.isArray(value) || value.length === 0) {
    write(Buffer.from(JSON.stringify(value, null, 2) + '\n'))
    return
  }
  const writer = new JsonArrayWriter(write)
  writer.add(value)
  writer.end()
}

/**
 * An array written as its items come, in the bytes of the whole: `svc list --json`
 * writes each service as its listing hands it on.
 *
 * Each piece is encoded into one buffer, used again for the next piece as long as the
 * writes go straight out: a fresh buffer for each piece was fresh memory, faulted in
 * page by page, 50 MB of it for 100,000 instances. A write that is queued instead keeps
 * its buffer, and the next piece gets a new one.
 */
export class JsonArrayWriter {
  private waiting: unknown[] = []
  private started = false
  private buffer: Buffer | undefined

  constructor(private readonly write: ChunkWriter) {}

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
    const bytes = this.encode(JSON.stringify(this.waiting, null, 2))
    this.waiting = []
    // The piece's own "[\n" opens the whole, or becomes ",\n" after the pieces before;
    // its "\n]" is left out (ASCII: two bytes each).
    if (this.started) bytes[0] = COMMA
    this.started = true
    if (!this.write(bytes.subarray(0, bytes.length - 2))) this.buffer = undefined
  }

  private encode(text: string): Buffer {
    // UTF-8 takes at most three bytes for each UTF-16 code unit.
    const most = text.length * 3
    if (this.buffer === undefined || this.buffer.length < most) this.buffer = Buffer.allocUnsafe(Math.max(most, PIECE_BUFFER_BYTES))
    return this.buffer.subarray(0, this.buffer.write(text))
  }
}

const COMMA = 0x2c

/** The buffer a piece is encoded into: room for a piece of ITEMS_PER_PIECE rows of some 800 characters. */
const PIECE_BUFFER_BYTES = 256 * 1024
