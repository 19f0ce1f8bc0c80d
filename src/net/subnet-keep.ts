import {untilAborted} from '../cli/daemon.js'
import {ConflictError} from '../lib/errors.js'
import type {Logger} from '../lib/log.js'
import type {Acquired} from './subnet-acquire.js'

/**
 * `subnet lease --keep`: the kept etcd lease renews itself (and, after an outage longer
 * than the TTL, takes the same subnet back if it is still free). Runs until the stop
 * signal; a subnet taken by another host meanwhile ends it with exit 5.
 */
export async function keepSubnet(acquired: Acquired, logger: Logger, stop: AbortSignal, conflicts: Promise<string>, releaseOnExit: boolean): Promise<void> {
  const {result, lease} = acquired
  logger.info('holding subnet', {subnet: result.subnet, key: result.key, ttlSeconds: result.ttlSeconds})
  const outcome = await Promise.race([untilAborted(stop).then(() => undefined), conflicts])
  if (outcome !== undefined) {
    await lease?.stop()
    throw new ConflictError(`subnet: ${result.subnet} was taken by another host while etcd was unreachable (${outcome})`, 'run cnet subnet lease again to get a new subnet')
  }
  await lease?.stop({revoke: releaseOnExit})
  logger.info(releaseOnExit ? 'released subnet' : 'stopped renewing; the lease stays until its TTL', {subnet: result.subnet})
}
