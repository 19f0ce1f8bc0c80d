/**
 * A histogram kept in plain numbers: an observation is a short scan of the bucket
 * bounds and two additions (a prom-client call validates and hashes its labels every
 * time, which cost more than answering a query). Rendered for prom-client at scrape.
 */
export class Histogram {
  readonly counts: Float64Array
  sum = 0

  constructor(readonly buckets: readonly number[]) {
    this.counts = new Float64Array(buckets.length + 1)
  }

  observe(value: number): void {
    const buckets = this.buckets
    let i = 0
    while (i < buckets.length && value > buckets[i]!) i++
    this.counts[i]!++
    this.sum += value
  }

  get count(): number {
    let total = 0
    for (const n of this.counts) total += n
    return total
  }

  /** prom-client's values for one labelled series: cumulative buckets, +Inf, sum and count. */
  values(name: string, labels: Record<string, string | number>): {labels: Record<string, string | number>; value: number; metricName: string}[] {
    const out = []
    let cumulative = 0
    for (let i = 0; i < this.buckets.length; i++) {
      cumulative += this.counts[i]!
      out.push({labels: {...labels, le: this.buckets[i]!}, value: cumulative, metricName: `${name}_bucket`})
    }
    cumulative += this.counts[this.buckets.length]!
    out.push({labels: {...labels, le: '+Inf'}, value: cumulative, metricName: `${name}_bucket`})
    out.push({labels, value: this.sum, metricName: `${name}_sum`})
    out.push({labels, value: cumulative, metricName: `${name}_count`})
    return out
  }
}
