import {ConfigError, StoreUnavailableError} from '../lib/errors.js'
import {CnetError} from '../lib/errors.js'

/**
 * The one place where errors from etcd3, gRPC and cockatiel become cnet's typed
 * errors. Everything that means "could not talk to etcd" is exit 4 and names the
 * endpoints that were tried.
 */
const UNREACHABLE = new Set([
  'GRPCUnavailableError',
  'GRPCDeadlineExceededError',
  'GRPCCancelledError',
  'GRPCConnectFailedError',
  'GRPCInternalError',
  'GRPCGenericError',
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

export function isUnreachable(error: unknown): boolean {
  if (error instanceof StoreUnavailableError) return true
  const name = (error as Error | undefined)?.constructor?.name ?? ''
  const message = String((error as Error | undefined)?.message ?? '')
  return UNREACHABLE.has(name) || /ECONNREFUSED|UNAVAILABLE|No connection established|Deadline exceeded|connect|socket/i.test(message)
}

export function toStoreError(error: unknown, endpoints: readonly string[], operation: string): Error {
  if (error instanceof CnetError) return error
  const name = (error as Error | undefined)?.constructor?.name ?? 'Error'
  const message = String((error as Error | undefined)?.message ?? error)
  const where = endpoints.join(',')
  if (AUTH.has(name) || /authentication failed|invalid auth token|permission denied|user name is empty/i.test(message)) {
    return new ConfigError(`store/etcd: ${operation} at ${where}: ${message.replace(/^.*?:\s*/, '')}`, 'check --etcd-username/--etcd-password')
  }
  if (isUnreachable(error)) {
    return new StoreUnavailableError(
      `store/etcd: etcd unreachable at ${where} (${operation}: ${shortReason(message)})`,
      'is etcd running? check --etcd-endpoints or CNET_ETCD_ENDPOINTS',
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
