/**
 * The `--ip-masq` rules as plain data, in cnet's own chains, mirroring flannel's
 * FLANNEL-POSTRTG / FLANNEL-FWD. Pure: rules in, `iptables-restore --noflush` text
 * out, planned against what `iptables-save` shows so a rerun changes nothing and
 * the jump from the built-in chain is never added twice.
 */
export const NAT_CHAIN = 'CNET-POSTRTG'
export const FILTER_CHAIN = 'CNET-FWD'

export interface ChainPlan {
  table: 'nat' | 'filter'
  chain: string
  /** The built-in chain that jumps to it. */
  from: 'POSTROUTING' | 'FORWARD'
  /** Rule specs in iptables-save's own spelling, without `-A CHAIN`. */
  rules: string[]
}

/**
 * The rules for one family (the same chains in ip6tables for IPv6, as flannel does):
 * `network` is the cluster network, `subnet` this host's subnet of that family.
 */
export function masqueradeRules(network: string, subnet: string, family: 4 | 6 = 4): ChainPlan[] {
  const multicast = family === 4 ? '224.0.0.0/4' : 'ff00::/8'
  return [
    {
      table: 'nat',
      chain: NAT_CHAIN,
      from: 'POSTROUTING',
      rules: [
        // Traffic kube-proxy marked for masquerading is its business, as in flannel.
        '-m mark --mark 0x4000/0x4000 -j RETURN',
        `-s ${subnet} -d ${network} -j RETURN`,
        `-s ${network} -d ${subnet} -j RETURN`,
        `! -s ${network} -d ${subnet} -j RETURN`,
        `-s ${network} ! -d ${multicast} -j MASQUERADE --random-fully`,
        `! -s ${network} -d ${network} -j MASQUERADE --random-fully`,
      ],
    },
    {table: 'filter', chain: FILTER_CHAIN, from: 'FORWARD', rules: [`-s ${network} -j ACCEPT`, `-d ${network} -j ACCEPT`]},
  ]
}

export interface SavedTable {
  chains: Set<string>
  /** `-A` lines per chain, in order, without the `-A CHAIN ` part. */
  rules: Map<string, string[]>
}

/** Parses `iptables-save` output into tables of chains and rules. */
export function parseIptablesSave(text: string): Map<string, SavedTable> {
  const tables = new Map<string, SavedTable>()
  let current: SavedTable | undefined
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      current = {chains: new Set(), rules: new Map()}
      tables.set(line.slice(1).trim(), current)
    } else if (current && line.startsWith(':')) {
      current.chains.add(line.slice(1).split(' ')[0])
    } else if (current && line.startsWith('-A ')) {
      const rest = line.slice(3)
      const space = rest.indexOf(' ')
      const chain = rest.slice(0, space)
      const list = current.rules.get(chain) ?? []
      list.push(rest.slice(space + 1))
      current.rules.set(chain, list)
    }
  }
  return tables
}

const jumpCount = (t: SavedTable | undefined, plan: ChainPlan) => (t?.rules.get(plan.from) ?? []).filter((r) => r === `-j ${plan.chain}`).length

/** The restore text that makes the chains hold exactly the rules, or undefined when they already do. */
export function planIptablesUp(plans: readonly ChainPlan[], saved: Map<string, SavedTable>): string | undefined {
  const sections: string[] = []
  for (const plan of plans) {
    const table = saved.get(plan.table)
    const have = table?.rules.get(plan.chain) ?? []
    const jumps = jumpCount(table, plan)
    const rulesMatch = table?.chains.has(plan.chain) && have.length === plan.rules.length && have.every((r, i) => r === plan.rules[i])
    if (rulesMatch && jumps === 1) continue
    const lines = [`*${plan.table}`, `:${plan.chain} - [0:0]`]
    // Extra jumps (from an older, racing run) are dropped so exactly one remains.
    for (let i = 1; i < jumps; i++) lines.push(`-D ${plan.from} -j ${plan.chain}`)
    if (jumps === 0) lines.push(`-A ${plan.from} -j ${plan.chain}`)
    for (const rule of plan.rules) lines.push(`-A ${plan.chain} ${rule}`)
    lines.push('COMMIT')
    sections.push(lines.join('\n'))
  }
  return sections.length ? sections.join('\n') + '\n' : undefined
}

/** The restore text that removes cnet's chains and their jumps, or undefined when none exist. */
export function planIptablesDown(saved: Map<string, SavedTable>): string | undefined {
  const chains: Pick<ChainPlan, 'table' | 'chain' | 'from'>[] = [
    {table: 'nat', chain: NAT_CHAIN, from: 'POSTROUTING'},
    {table: 'filter', chain: FILTER_CHAIN, from: 'FORWARD'},
  ]
  const sections: string[] = []
  for (const c of chains) {
    const table = saved.get(c.table)
    if (!table?.chains.has(c.chain)) continue
    // Declaring the chain flushes it under --noflush; then the jumps go and the chain.
    const lines = [`*${c.table}`, `:${c.chain} - [0:0]`]
    for (let i = 0; i < jumpCount(table, c as ChainPlan); i++) lines.push(`-D ${c.from} -j ${c.chain}`)
    lines.push(`-X ${c.chain}`, 'COMMIT')
    sections.push(lines.join('\n'))
  }
  return sections.length ? sections.join('\n') + '\n' : undefined
}
