import {bridgeLine, ipLines} from './batch.js'
import type {Operation} from './model.js'

/** One operation as the command lines it stands for (`ip ...` or `bridge ...`; two joined by "; " for a route through a nexthop object). */
export function describeOperation(op: Operation): string {
  const ip = ipLines(op)
  return ip.length > 0 ? ip.map((line) => `ip ${line}`).join('; ') : `bridge ${bridgeLine(op) ?? op.op}`
}
