/** Check output kept with a result, as Consul keeps it: at most 4 KB. */
export const MAX_OUTPUT_BYTES = 4096

/** Cuts text to at most 4 KB of UTF-8 without splitting a character. */
export function truncateOutput(text: string, maxBytes = MAX_OUTPUT_BYTES): string {
  if (text.length <= maxBytes / 4) return text
  const bytes = Buffer.from(text, 'utf8')
  if (bytes.length <= maxBytes) return text
  let end = maxBytes
  // Step back over continuation bytes (10xxxxxx) to a character boundary.
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--
  return bytes.subarray(0, end).toString('utf8')
}
