import {randomBytes} from 'node:crypto'
import {afterAll, beforeAll} from '@jest/globals'
import {type EtcdMember, startEtcd} from './etcd.js'

/**
 * One real etcd per test file: started before its first test, stopped by PID after
 * its last. Returns a getter, since the member exists only once beforeAll ran.
 */
export function useEtcd(name = 'test'): () => EtcdMember {
  let member: EtcdMember | undefined
  beforeAll(async () => {
    member = await startEtcd({name})
  }, 30_000)
  afterAll(async () => {
    await member?.destroy()
  })
  return () => {
    if (!member) throw new Error('etcd is not running (useEtcd() must be called at describe level)')
    return member
  }
}

/** Key roots unique to one test, so tests sharing an etcd never see each other. */
export function uniquePrefixes(label = 't'): {networkPrefix: string; cnetPrefix: string} {
  const id = `${label}-${randomBytes(4).toString('hex')}`
  return {networkPrefix: `/test/${id}/network`, cnetPrefix: `/test/${id}/cnet`}
}
