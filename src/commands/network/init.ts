import {readFileSync} from 'node:fs'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {networkInitSentence} from '../../cli/human.js'
import {ConfigError, UsageError} from '../../lib/errors.js'
import {type InitResult, initNetwork} from '../../net/network-store.js'

/** flannel's field names, as the flags that set them. */
const FLAG_FOR_FIELD: Record<string, string> = {
  EnableIPv4: '--network',
  Network: '--network',
  SubnetLen: '--subnet-len',
  SubnetMin: '--subnet-min',
  SubnetMax: '--subnet-max',
  IPv6Network: '--ipv6-network',
  IPv6SubnetLen: '--ipv6-subnet-len',
  'Backend.Type': '--backend',
  'Backend.VNI': '--vni',
  'Backend.Port': '--port',
  'Backend.MTU': '--mtu',
}

export default class NetworkInit extends BaseCommand<typeof NetworkInit> {
  static override summary = "Write the cluster network config (flannel's format) to etcd"
  static override description =
    'Refuses to change an existing, different config without --force, and refuses any config that existing leases would fall outside of. Running it again with the same config changes nothing.'
  static override examples = [
    '<%= config.bin %> network init --network 10.5.0.0/16',
    '<%= config.bin %> network init --network 10.5.0.0/16 --subnet-len 26 --vni 42 --port 4789',
    '<%= config.bin %> network init --network 10.5.0.0/16 --backend host-gw',
    '<%= config.bin %> network init --network 10.5.0.0/16 --ipv6-network fd00:42::/48   # dual stack',
    '<%= config.bin %> network init --ipv6-network fd00:42::/48   # IPv6 only',
    '<%= config.bin %> network init --from-file /etc/kube-flannel/net-conf.json',
    'kubectl -n kube-flannel get cm kube-flannel-cfg -o jsonpath="{.data.net-conf\\.json}" | <%= config.bin %> network init --from-file -',
  ]

  static override fieldNames = FLAG_FOR_FIELD

  static override flags = {
    network: Flags.string({description: 'the cluster network (IPv4 CIDR); leave it out, with --ipv6-network, for an IPv6-only network', exclusive: ['from-file']}),
    'subnet-len': Flags.integer({description: "each host's subnet prefix length (default 24, or network length + 2)"}),
    'subnet-min': Flags.string({description: 'first subnet that may be leased (default: the second subnet)'}),
    'subnet-max': Flags.string({description: 'last subnet that may be leased (default: the last subnet)'}),
    'ipv6-network': Flags.string({description: 'an IPv6 cluster network too (dual stack), or alone (IPv6 only)', exclusive: ['from-file']}),
    'ipv6-subnet-len': Flags.integer({description: 'IPv6 subnet prefix length (default 64)'}),
    backend: Flags.string({description: 'vxlan (encapsulation, any underlay) or host-gw (plain routes; every host on one L2 segment)', options: ['vxlan', 'host-gw'], default: 'vxlan'}),
    vni: Flags.integer({description: 'vxlan: network identifier (default 1)'}),
    port: Flags.integer({description: 'vxlan: UDP port (default 8472)'}),
    mtu: Flags.integer({description: 'vxlan: underlay MTU to use instead of the interface MTU'}),
    'direct-routing': Flags.boolean({description: 'vxlan: route directly to peers on the same L2 segment'}),
    'from-file': Flags.string({description: "read flannel's net-conf.json from a file (- for stdin) instead of flags"}),
    force: Flags.boolean({description: 'replace a different existing config'}),
  }

  async run(): Promise<InitResult> {
    const {raw, source} = this.rawConfig()
    const result = await initNetwork(await this.store(), this.keys, raw, {
      force: this.flags.force,
      source,
    })
    this.log(networkInitSentence(result))
    return result
  }

  private rawConfig(): {raw: Record<string, unknown>; source: 'flags' | 'file'} {
    const f = this.flags
    if (f['from-file']) {
      const file = f['from-file']
      const where = file === '-' ? 'stdin' : file
      let parsed: unknown
      try {
        parsed = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'))
      } catch (error) {
        throw new ConfigError(`--from-file: cannot read ${where}: ${(error as Error).message}`)
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`--from-file: ${where} must hold a JSON object`)
      return {raw: parsed as Record<string, unknown>, source: 'file'}
    }
    if (!f.network && !f['ipv6-network']) throw new UsageError('--network is required (or --ipv6-network for an IPv6-only network, or --from-file)', 'e.g. --network 10.5.0.0/16')
    const vxlanOnly = (['vni', 'port', 'mtu', 'direct-routing'] as const).filter((name) => f[name] !== undefined && f[name] !== false)
    if (f.backend !== 'vxlan' && vxlanOnly.length > 0) throw new UsageError(`${vxlanOnly.map((n) => `--${n}`).join(', ')}: only with --backend vxlan`)
    const backend: Record<string, unknown> = {Type: f.backend}
    if (f.vni !== undefined) backend.VNI = f.vni
    if (f.port !== undefined) backend.Port = f.port
    if (f.mtu !== undefined) backend.MTU = f.mtu
    if (f['direct-routing']) backend.DirectRouting = true
    // flannel's IPv6-only network: EnableIPv4 false and no Network.
    const raw: Record<string, unknown> = f.network ? {Network: f.network} : {EnableIPv4: false}
    if (f['subnet-len'] !== undefined) raw.SubnetLen = f['subnet-len']
    if (f['subnet-min'] !== undefined) raw.SubnetMin = f['subnet-min']
    if (f['subnet-max'] !== undefined) raw.SubnetMax = f['subnet-max']
    if (f['ipv6-network'] !== undefined) {
      raw.EnableIPv6 = true
      raw.IPv6Network = f['ipv6-network']
      if (f['ipv6-subnet-len'] !== undefined) raw.IPv6SubnetLen = f['ipv6-subnet-len']
    }
    raw.Backend = backend
    return {raw, source: 'flags'}
  }
}
