/**
 * The reference bridge plugin (1.1.1) removes its masquerade rules on DEL only while the
 * pod's namespace still exists, since it learns the pod's addresses from the interface.
 * After a DEL whose namespace was gone, cnet removes what is left of that container's
 * rules: those tagged with the bridge's comment for this network and container, and the
 * per-container chain they jump to. (While the namespace exists the bridge has done it,
 * and DEL skips reading the nat table: on a host with many rules that read is slow.)
 * Pure: `iptables-save -t nat` text in, `iptables-restore --noflush` text (or nothing) out.
 */

/** The comment the bridge puts on each of a container's masquerade rules, as iptables-save prints it. */
export function bridgeComment(network: string, containerId: string): string {
  return `--comment "name: \\"${network}\\" id: \\"${containerId}\\""`
}

export function planMasqCleanup(save: string, network: string, containerId: string): string | undefined {
  const comment = bridgeComment(network, containerId)
  const rules = save.split('\n').filter((line) => line.startsWith('-A '))
  const ours = rules.filter((line) => line.includes(comment))
  if (ours.length === 0) return undefined
  const chainOf = (line: string) => line.split(' ')[1]
  // Per-container chains are removed whole, but only when every rule in them is this container's.
  const chains = new Set(ours.map((line) => / -j (CNI-[0-9a-f]+)$/.exec(line)?.[1]).filter((c): c is string => c !== undefined))
  for (const chain of chains) if (rules.some((line) => chainOf(line) === chain && !line.includes(comment))) chains.delete(chain)
  const lines = ['*nat']
  for (const rule of ours) if (!chains.has(chainOf(rule))) lines.push(`-D${rule.slice(2)}`)
  for (const chain of chains) lines.push(`-F ${chain}`, `-X ${chain}`)
  lines.push('COMMIT', '')
  return lines.join('\n')
}
