/**
 * The raw-bytes view of the commonest query: one question, no EDNS, nothing after it
 * (what glibc, musl and dnsperf send). Answers already built for such a question are
 * found by a hash of its bytes, so a repeated query is answered without decoding it
 * into a name string and a query object.
 */

const HEADER = 12

/**
 * A 32-bit FNV-1a hash of the question (name lower-cased, type, class) and the RD bit;
 * -1 when the packet is not a plain query: QR or an opcode set, counts other than one
 * question, a compressed or overlong label, or bytes after the question.
 */
export function plainQuestionHash(request: Buffer): number {
  const length = request.length
  if (length < HEADER + 5) return -1
  if ((request[2]! & 0xf8) !== 0 || request[4] !== 0 || request[5] !== 1) return -1
  if ((request[6]! | request[7]! | request[8]! | request[9]! | request[10]! | request[11]!) !== 0) return -1
  let hash = Math.imul(0x811c9dc5 ^ (request[2]! & 1), 0x01000193)
  let offset = HEADER
  for (;;) {
    const len = request[offset]!
    if (len === 0) break
    if (len > 63 || offset + 1 + len >= length) return -1
    for (let i = offset; i <= offset + len; i++) hash = Math.imul(hash ^ lower(request[i]!), 0x01000193)
    offset += 1 + len
  }
  if (offset + 5 !== length) return -1
  for (let i = offset; i < length; i++) hash = Math.imul(hash ^ request[i]!, 0x01000193)
  return hash >>> 0
}

/** The key a plain question is compared by: the RD bit, then the question lower-cased. */
export function plainQuestionKey(request: Buffer): Buffer {
  const key = Buffer.alloc(1 + request.length - HEADER)
  key[0] = request[2]! & 1
  const nameEnd = request.length - 4
  for (let i = HEADER; i < request.length; i++) key[1 + i - HEADER] = i < nameEnd ? lower(request[i]!) : request[i]!
  return key
}

/** Whether a plain query (plainQuestionHash >= 0) asks what `key` asks. */
export function matchesPlainKey(request: Buffer, key: Buffer): boolean {
  if (key.length !== 1 + request.length - HEADER || key[0] !== (request[2]! & 1)) return false
  const nameEnd = request.length - 4
  for (let i = HEADER; i < nameEnd; i++) if (lower(request[i]!) !== key[1 + i - HEADER]) return false
  for (let i = nameEnd; i < request.length; i++) if (request[i] !== key[1 + i - HEADER]) return false
  return true
}

/**
 * Writes the asker's own spelling of the name over a reply's question: resolvers that
 * randomise case (DNS 0x20) drop a reply whose question does not match theirs byte for
 * byte. Only when the reply has a question and its name is the asker's but for case;
 * any other reply is left as it is.
 */
export function echoQuestionCase(reply: Buffer, request: Buffer, nameEnd: number): void {
  if (nameEnd <= HEADER || reply.length < nameEnd || reply[4] !== request[4] || reply[5] !== request[5] || (reply[4] === 0 && reply[5] === 0)) return
  for (let i = HEADER; i < nameEnd; i++) if (lower(reply[i]!) !== lower(request[i]!)) return
  copyName(reply, request, nameEnd)
}

/** The asker's name bytes over a reply's question already known to be the same name. */
export function copyName(reply: Buffer, request: Buffer, nameEnd: number): void {
  // a loop: for a name's few bytes Buffer.copy's own checks cost more than the copy
  for (let i = HEADER; i < nameEnd; i++) reply[i] = request[i]!
}

function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c
}
