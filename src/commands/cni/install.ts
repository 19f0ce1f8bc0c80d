import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {type globalFlags, logFlags} from '../../cli/global-flags.js'
import {type InstallResult, installCni} from '../../cni/install.js'
import {DEFAULT_BRIDGE, DEFAULT_DATA_DIR} from '../../cni/netconf.js'
import {DEFAULT_SUBNET_FILE} from '../../net/subnet-env.js'

export default class CniInstall extends BaseCommand<typeof CniInstall> {
  static override summary = 'Write a conflist and put the cnet plugin where container runtimes find it'
  static override description =
    "Writes <conf-dir>/10-<name>.conflist (cnet, then portmap) and an executable `cnet` in <bin-dir> that runs cnet's plugin (without the rest of the CLI). Idempotent: a second run writes nothing, and a run after `podman network rm` puts the deleted conflist back. The reference plugins (bridge, host-local, portmap) must be in the runtime's plugin dirs too: it warns about those that none of <bin-dir>, /opt/cni/bin, /usr/lib/cni and /usr/libexec/cni holds."
  static override examples = [
    '<%= config.bin %> cni install',
    '<%= config.bin %> cni install --conf-dir /etc/cni/net.d --bin-dir /opt/cni/bin --subnet-file /run/cnet/subnet.env --json',
    '<%= config.bin %> cni install --no-default-gateway   # containers that take their default route from another network',
  ]

  // Files only, never etcd: only the log flags apply (typed as the base's, which it is a part of).
  static override baseFlags = logFlags as unknown as typeof globalFlags
  static override fieldNames = {confDir: '--conf-dir', binDir: '--bin-dir', subnetFile: '--subnet-file', dataDir: '--data-dir'}

  static override flags = {
    'conf-dir': Flags.string({description: 'where runtimes read network configs', default: '/etc/cni/net.d'}),
    'bin-dir': Flags.string({description: 'where runtimes look for plugins', default: '/opt/cni/bin'}),
    'subnet-file': Flags.string({description: "this host's subnet.env, written by cnet subnet lease", default: DEFAULT_SUBNET_FILE, env: 'CNET_SUBNET_FILE'}),
    'data-dir': Flags.string({description: 'where the plugin keeps per-container state and address allocations', default: DEFAULT_DATA_DIR}),
    name: Flags.string({description: 'the network name', default: 'cnet'}),
    bridge: Flags.string({description: 'the bridge the pods attach to', default: DEFAULT_BRIDGE}),
    'default-gateway': Flags.boolean({
      description: "give containers their default route through cnet's bridge; --no-default-gateway when they have another network for it (only the cluster network is routed through cnet)",
      default: true,
      allowNo: true,
    }),
    force: Flags.boolean({description: 'replace a <bin-dir>/cnet that cnet did not write', default: false}),
  }

  async run(): Promise<InstallResult> {
    const f = this.flags
    const result = installCni({
      confDir: f['conf-dir'], binDir: f['bin-dir'], subnetFile: f['subnet-file'], dataDir: f['data-dir'], name: f.name, bridge: f.bridge, defaultGateway: f['default-gateway'], force: f.force,
    })
    if (result.missingPlugins.length > 0) {
      this.logger.warn(`${result.missingPlugins.join(', ')} in none of ${result.searchedDirs.join(', ')}: install the reference plugins (apt-get install containernetworking-plugins) and add their directory to the runtime's plugin dirs`)
    }
    this.log(result.written.length === 0 ? `${result.confFile} and ${result.pluginFile} already in place` : result.written.map((file) => `wrote ${file}`).join('\n'))
    return result
  }
}
