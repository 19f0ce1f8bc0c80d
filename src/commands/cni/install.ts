import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {type InstallResult, installCni} from '../../cni/install.js'
import {DEFAULT_BRIDGE, DEFAULT_DATA_DIR} from '../../cni/netconf.js'
import {DEFAULT_SUBNET_FILE} from '../../net/subnet-env.js'

export default class CniInstall extends BaseCommand<typeof CniInstall> {
  static override summary = 'Write a conflist and put the cnet plugin where container runtimes find it'
  static override description =
    'Writes <conf-dir>/10-<name>.conflist (cnet, then portmap) and an executable `cnet` in <bin-dir> that runs this CLI\'s `cni` command. Idempotent: a second run writes nothing. The reference plugins (bridge, host-local, portmap) must be in the runtime\'s bin dirs too.'
  static override examples = [
    '<%= config.bin %> cni install',
    '<%= config.bin %> cni install --conf-dir /etc/cni/net.d --bin-dir /opt/cni/bin --subnet-file /run/cnet/subnet.env --json',
  ]

  static override flags = {
    'conf-dir': Flags.string({description: 'where runtimes read network configs', default: '/etc/cni/net.d'}),
    'bin-dir': Flags.string({description: 'where runtimes look for plugins', default: '/opt/cni/bin'}),
    'subnet-file': Flags.string({description: "this host's subnet.env, written by cnet subnet lease", default: DEFAULT_SUBNET_FILE, env: 'CNET_SUBNET_FILE'}),
    'data-dir': Flags.string({description: 'where the plugin keeps per-container state and address allocations', default: DEFAULT_DATA_DIR}),
    name: Flags.string({description: 'the network name', default: 'cnet'}),
    bridge: Flags.string({description: 'the bridge the pods attach to', default: DEFAULT_BRIDGE}),
    force: Flags.boolean({description: 'replace a <bin-dir>/cnet that cnet did not write', default: false}),
  }

  async run(): Promise<InstallResult> {
    const f = this.flags
    const result = installCni({confDir: f['conf-dir'], binDir: f['bin-dir'], subnetFile: f['subnet-file'], dataDir: f['data-dir'], name: f.name, bridge: f.bridge, force: f.force})
    if (result.missingPlugins.length > 0) {
      this.logger.warn(`${result.missingPlugins.join(', ')} not in ${f['bin-dir']}: add /usr/lib/cni to the runtime's plugin dirs or link them there`)
    }
    this.log(result.written.length === 0 ? `${result.confFile} and ${result.pluginFile} already in place` : result.written.map((file) => `wrote ${file}`).join('\n'))
    return result
  }
}
