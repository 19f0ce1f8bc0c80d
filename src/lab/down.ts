import {existsSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {pidFilesUnder, stopDaemon} from './daemons.js'
import {LAB_PREFIX} from './layout.js'
import {readLabState} from './state.js'
import {namespacesWithPrefix, removeByPrefix} from './underlay.js'
import {removeResolvConfs} from './up.js'

export interface LabDownReport {
  stoppedDaemons: number
  removedNamespaces: string[]
  removedLinks: string[]
  removedStateDir: boolean
}

/**
 * Stops everything the lab started and removes everything it made. Idempotent and
 * safe after a crash of `lab up`: it goes by PID files and the lab's name prefix, so
 * it never touches anything the lab did not create.
 */
export async function labDown(stateDir: string): Promise<LabDownReport> {
  const state = readLabState(stateDir)
  const pidFiles = pidFilesUnder(stateDir)
  // The daemons first, etcd last, so none of them logs a storm about etcd going away.
  const etcdPid = join(stateDir, 'etcd.pid')
  const daemons = pidFiles.filter((f) => f !== etcdPid)
  await Promise.all(daemons.map((f) => stopDaemon(f)))
  if (existsSync(etcdPid)) await stopDaemon(etcdPid)
  if (state) removeResolvConfs(state.layout)
  for (const ns of await namespacesWithPrefix(LAB_PREFIX)) rmSync(join('/etc/netns', ns), {recursive: true, force: true})
  const removed = await removeByPrefix(LAB_PREFIX)
  const hadState = existsSync(stateDir)
  rmSync(stateDir, {recursive: true, force: true})
  return {stoppedDaemons: pidFiles.length, removedNamespaces: removed.namespaces, removedLinks: removed.links, removedStateDir: hadState}
}
