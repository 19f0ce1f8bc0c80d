import {runCommand} from '../lib/run-command.js'

/**
 * A shared L2 underlay built from namespaces and veth pairs only: a bridge inside its
 * own namespace, one namespace per host with `eth0` on the bridge, and a veth from the
 * root namespace so processes there (etcd) have an underlay address.
 */
export interface UnderlayHost {
  ns: string
  /** Root-namespace name of the host's veth before it moves into the namespace. */
  veth: string
  bridgePort: string
  address: string
}

export interface UnderlaySpec {
  bridgeNs: string
  hosts: UnderlayHost[]
  rootVeth: string
  rootBridgePort: string
  rootAddress: string
  prefixLength: number
}

const ip = (...args: string[]) => runCommand('ip', args)

export async function addNamespace(name: string): Promise<void> {
  await ip('netns', 'add', name)
  await ip('-n', name, 'link', 'set', 'lo', 'up')
}

export async function createUnderlay(spec: UnderlaySpec): Promise<void> {
  await addNamespace(spec.bridgeNs)
  await ip('-n', spec.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge')
  await ip('-n', spec.bridgeNs, 'link', 'set', 'br0', 'up')
  for (const host of spec.hosts) {
    await addNamespace(host.ns)
    await ip('link', 'add', host.veth, 'type', 'veth', 'peer', 'name', host.bridgePort)
    await ip('link', 'set', host.veth, 'netns', host.ns)
    await ip('link', 'set', host.bridgePort, 'netns', spec.bridgeNs)
    await ip('-n', host.ns, 'link', 'set', host.veth, 'name', 'eth0')
    await ip('-n', host.ns, 'addr', 'add', `${host.address}/${spec.prefixLength}`, 'dev', 'eth0')
    await ip('-n', host.ns, 'link', 'set', 'eth0', 'up')
    await attachToBridge(spec.bridgeNs, host.bridgePort)
  }
  await ip('link', 'add', spec.rootVeth, 'type', 'veth', 'peer', 'name', spec.rootBridgePort)
  await ip('link', 'set', spec.rootBridgePort, 'netns', spec.bridgeNs)
  await attachToBridge(spec.bridgeNs, spec.rootBridgePort)
  await ip('addr', 'add', `${spec.rootAddress}/${spec.prefixLength}`, 'dev', spec.rootVeth)
  await ip('link', 'set', spec.rootVeth, 'up')
}

async function attachToBridge(bridgeNs: string, port: string): Promise<void> {
  await ip('-n', bridgeNs, 'link', 'set', port, 'master', 'br0')
  await ip('-n', bridgeNs, 'link', 'set', port, 'up')
}

export async function namespacesWithPrefix(prefix: string): Promise<string[]> {
  const {stdout} = await runCommand('ip', ['-j', 'netns', 'list'], {allowFailure: true})
  const entries = (stdout.trim() ? JSON.parse(stdout) : []) as {name: string}[]
  return entries.map((e) => e.name).filter((name) => name.startsWith(prefix))
}

export async function linksWithPrefix(prefix: string): Promise<string[]> {
  const {stdout} = await runCommand('ip', ['-j', 'link', 'show'])
  return (JSON.parse(stdout) as {ifname: string}[]).map((e) => e.ifname).filter((name) => name.startsWith(prefix))
}

/** PIDs of the processes running inside a namespace. */
export async function namespacePids(ns: string): Promise<number[]> {
  const {stdout} = await runCommand('ip', ['netns', 'pids', ns], {allowFailure: true})
  return stdout.split('\n').filter(Boolean).map(Number)
}

/**
 * Removes every namespace and root-namespace link with the prefix, ending what still
 * runs inside those namespaces first (nothing outside them is touched). Idempotent.
 */
export async function removeByPrefix(prefix: string): Promise<{namespaces: string[]; links: string[]}> {
  const namespaces = await namespacesWithPrefix(prefix)
  for (const ns of namespaces) {
    for (const pid of await namespacePids(ns)) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    await runCommand('ip', ['netns', 'del', ns], {allowFailure: true})
  }
  const links = await linksWithPrefix(prefix)
  for (const link of links) await runCommand('ip', ['link', 'del', link], {allowFailure: true})
  return {namespaces, links}
}
