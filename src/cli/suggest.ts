/**
 * "Did you mean" for a mistyped command: the closest known command or topic by edit
 * distance, when it is close enough to be what was meant.
 */

/** Levenshtein distance: insertions, deletions and substitutions, one each. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]
}

/**
 * The candidate nearest to `typed`, or undefined when even the nearest needs more than
 * a third of the word changed (at least two edits are always allowed): `cnet foo` gets
 * no suggestion rather than a random one. Ties go to the first candidate.
 */
export function closest(typed: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of candidates) {
    const distance = editDistance(typed, candidate)
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return bestDistance <= Math.max(2, Math.floor(typed.length / 3)) ? best : undefined
}

/**
 * What a mistyped command line meant: the words that were the command (extra ones may
 * be its arguments) and the nearest command or topic. Each leading run of words is
 * tried; the nearest relative to its length wins, and a run that is itself a known
 * topic ("svc" in "svc regster web") is not the typo.
 */
export function suggestCommand(words: readonly string[], known: readonly string[]): {typed: string[]; suggestion?: string} {
  let best: {typed: string[]; suggestion: string; score: number} | undefined
  for (let n = words.length; n > 0; n--) {
    const id = words.slice(0, n).join(':')
    if (known.includes(id)) continue
    const suggestion = closest(id, known)
    if (suggestion === undefined) continue
    const score = editDistance(id, suggestion) / id.length
    if (!best || score < best.score) best = {typed: words.slice(0, n), suggestion, score}
  }
  return best ? {typed: best.typed, suggestion: best.suggestion} : {typed: [...words]}
}
