import {bridgeLine, ipLine} from './batch.js'
import type {Operation} from './model.js'

/** One operation as the command line it stands for (`ip ...` or `bridge ...`). */
export function describeOperation(op: Operation): string {
  const ip = ipLine(op)
  return ip !== undefined ? `ip ${ip}` : `bridge ${bridgeLine(op) ?? op.op}`
}
