import {existsSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {pidFilesUnder, stopDaemon} from './daemons.js'
import {DEFAULT_LAB_NAMES} from './layout.js'
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
 * safe after a crash of `lab up`: it goes by PID files and the lab's own name prefix, so
 * it never touches anything the lab did not create.
 */
export async function labDown(stateDir: string, fallbackPrefix = DEFAULT_LAB_NAMES.prefix): Promise<LabDownReport> {
  const state = readLabState(stateDir)
  // The prefix the lab was made with; without its state (a crash before it was saved), the one given.
  const prefix = state?.layout.names?.prefix ?? fallbackPrefix
  const pidFiles = pidFilesUnder(stateDir)
  // The daemons first, etcd last, so none of them logs a storm about etcd going away.
  const etcdPid = join(stateDir, 'etcd.pid')
  const daemons = pidFiles.filter((f) => f !== etcdPid)
  await Promise.all(daemons.map((f) => stopDaemon(f)))
  if (existsSync(etcdPid)) await stopDaemon(etcdPid)
  if (state) removeResolvConfs(state.layout)
  for (const ns of await namespacesWithPrefix(prefix)) rmSync(join('/etc/netns', ns), {recursive: true, force: true})
  const removed = await removeByPrefix(prefix)
  const hadState = existsSync(stateDir)
  rmSync(stateDir, {recursive: true, force: true})
  return {stoppedDaemons: pidFiles.length, removedNamespaces: removed.namespaces, removedLinks: removed.links, removedStateDir: hadState}
}
