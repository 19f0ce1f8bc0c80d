import {untilAborted} from '../lib/abort.js'
import {rmSync} from 'node:fs'
import {ConflictError} from '../lib/errors.js'
import type {Logger} from '../lib/log.js'
import {formatCidr} from './ip.js'
import type {Acquired} from './subnet-acquire.js'
import {subnetsInFile} from './subnet-env.js'

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
    // The lease granted again holds nothing of ours now: let it go at once.
    await lease?.stop({revoke: true}).catch(() => {})
    const subnets = [result.subnet, result.ipv6Subnet].filter(Boolean).join(' ')
    // Left in place, subnet.env would keep pods taking addresses from another host's subnet.
    const removed = removeSubnetFileFor(result.subnetFile, result.subnet)
    throw new ConflictError(
      `subnet: ${subnets} was taken by another host while our etcd lease was lost (${oneLine(outcome)})${removed ? `; removed ${result.subnetFile}` : ''}`,
      'run cnet subnet lease again to get a new subnet',
    )
  }
  await lease?.stop({revoke: releaseOnExit})
  logger.info(releaseOnExit ? 'released subnet' : 'stopped renewing; the lease stays until its TTL', {subnet: result.subnet})
}

/** Another host's lease value, kept to one line for the message. */
const oneLine = (text: string) => text.replace(/\s+/g, ' ').slice(0, 300)

/** Deletes the subnet file if it still names `subnet` (another run may have rewritten it). */
function removeSubnetFileFor(file: string, subnet: string): boolean {
  const inFile = subnetsInFile(file)
  const named = inFile?.v4 ?? inFile?.v6
  if (!named || formatCidr(named) !== subnet) return false
  rmSync(file, {force: true})
  return true
}
