import {CnetError, ConfigError, StoreUnavailableError} from '../lib/errors.js'

/**
 * The largest reply the etcd client takes (gRPC's default is 4 MB). Lists still page:
 * this only lets a page be large, because etcd 3.4 walks every remaining key of the range
 * for each page however small its limit, so a list of n keys in pages of p costs it about
 * n^2/2p key visits: 100,000 registrations in pages of 5,000 kept etcd busy for over a
 * second, in pages of 1,000 for five.
 */
export const MAX_REPLY_BYTES = 16 * 1024 * 1024

/**
 * The one place where errors from etcd3, gRPC and cockatiel become cnet's typed
 * errors: "could not talk to etcd" (down, refused, timed out, not etcd at all) is exit 4
 * and names the endpoints; credentials etcd refuses or does not expect are exit 3.
 * Anything else is returned as it is (a bug, exit 70).
 *
 * The decision is made by the error's class, as etcd3 names them (the bundle keeps class
 * names); gRPC's own status text is read only for what has no class of its own.
 */
const UNREACHABLE = new Set([
  'GRPCUnavailableError',
  'GRPCDeadlineExceededError',
  'GRPCCancelledError',
  'GRPCConnectFailedError',
  'GRPCInternalError',
  'GRPCProtocolError',
  'BrokenCircuitError',
  'TaskCancelledError',
  'EtcdWatchStreamEnded',
  'ClientClosedError',
  'StoreDeadlineError',
])
const AUTH = new Set(['EtcdAuthenticationFailedError', 'EtcdInvalidAuthTokenError', 'EtcdPermissionDeniedError', 'GRPCUnauthenticatedError'])

export class StoreDeadlineError extends Error {
  override name = 'StoreDeadlineError'
}

/** etcd refused a read at a revision it has compacted away: the caller reads again from the start. */
export class StoreCompactedError extends Error {
  override name = 'StoreCompactedError'
}

const nameOf = (error: unknown): string => (error as Error | undefined)?.constructor?.name ?? ''
const messageOf = (error: unknown): string => String((error as Error | undefined)?.message ?? error)

export function isCompacted(error: unknown): boolean {
  return error instanceof StoreCompactedError || /required revision has been compacted/.test(messageOf(error))
}

/** gRPC's "message larger than max": a page of a list was too big for one reply. */
export function isTooLarge(error: unknown): boolean {
  return nameOf(error) === 'GRPCResourceExhastedError' || /RESOURCE_EXHAUSTED|larger than max/.test(messageOf(error))
}

export function toStoreError(error: unknown, endpoints: readonly string[], operation: string): Error {
  if (error instanceof CnetError) return error
  const name = nameOf(error)
  const message = messageOf(error)
  const where = endpoints.join(',')
  if (AUTH.has(name) || /authentication failed|invalid auth token|permission denied|user name is empty/i.test(message)) {
    return new ConfigError(`store/etcd: ${operation} at ${where}: ${message.replace(/^.*?:\s*/, '')}`, undefined, 'etcd-username,etcd-password')
  }
  if (/authentication is not enabled/i.test(message)) {
    return new ConfigError(`store/etcd: etcd at ${where} has authentication disabled, but a user name was given`, 'leave out the user name and password, or enable auth in etcd', 'etcd-username,etcd-password')
  }
  const httpStatus = /Received HTTP status code (\d+)/.exec(message)
  if (httpStatus || name === 'GRPCNotImplementedError' || /UNIMPLEMENTED|unknown service etcdserverpb/i.test(message)) {
    const answered = httpStatus ? `answered HTTP ${httpStatus[1]}` : 'does not implement the etcd API'
    return new StoreUnavailableError(`store/etcd: ${endpoints.length === 1 ? where : `one of ${where}`} ${answered} to ${operation}: not an etcd v3 endpoint`, 'give the client URL of an etcd member, e.g. http://127.0.0.1:2379', 'etcd-endpoints')
  }
  if (/Protocol error/i.test(message)) {
    return new StoreUnavailableError(`store/etcd: ${endpoints.length === 1 ? where : `one of ${where}`} does not speak etcd's gRPC (${operation}: protocol error): not an etcd v3 endpoint`, 'give the client URL of an etcd member, e.g. http://127.0.0.1:2379', 'etcd-endpoints')
  }
  if (isTooLarge(error)) {
    return new StoreUnavailableError(`store/etcd: ${operation} at ${where}: a single value is larger than the ${MAX_REPLY_BYTES / 1024 / 1024} MB a reply may hold`)
  }
  if (isCompacted(error)) {
    return new StoreUnavailableError(`store/etcd: ${operation} at ${where}: etcd compacted the revision being read, again and again`, 'etcd compacts more often than a list of this size takes')
  }
  if (UNREACHABLE.has(name) || name === 'GRPCGenericError' || /ECONNREFUSED|UNAVAILABLE|No connection established|Deadline exceeded|connect|socket/i.test(message)) {
    return new StoreUnavailableError(
      `store/etcd: etcd unreachable at ${where} (${operation}: ${shortReason(message)})`,
      'is etcd running?',
      'etcd-endpoints',
    )
  }
  return error instanceof Error ? error : new Error(message)
}

function shortReason(message: string): string {
  // gRPC wraps the useful part ("connect ECONNREFUSED 127.0.0.1:2379") in boilerplate.
  const socketError = /(connect E[A-Z]+ [^\s.]+(?:\.[^\s.]+)*:\d+|getaddrinfo E[A-Z]+ \S+)/.exec(message)
  if (socketError) return socketError[1]
  const firstLine = message.split('\n')[0]
  return firstLine.length > 160 ? firstLine.slice(0, 160) + '...' : firstLine
}
