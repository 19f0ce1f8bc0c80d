import {BaseCommand} from '../../cli/base-command.js'
import {describeError} from '../../cli/failure.js'
import {type globalFlags, logFlags} from '../../cli/global-flags.js'
import {runCni} from '../../cni/main.js'
import {CniCode, CniError, errorDocument} from '../../cni/spec.js'
import {readStdin} from '../../cni/stdin.js'
import {UsageError} from '../../lib/errors.js'

export default class Cni extends BaseCommand<typeof Cni> {
  static override summary = 'The CNI plugin (ADD, DEL, CHECK, VERSION), run by a container runtime with CNI_COMMAND set'
  static override description =
    "Reads this host's subnet.env and delegates to the reference bridge plugin with host-local IPAM, as flannel's plugin does. The network config comes on stdin; the result or the spec's error document goes to stdout and nothing else does. Runtimes run the same code through the `cnet` shim that `cnet cni install` writes, which starts without the CLI (bin/cnet-cni.cjs); this command is for running it by hand. It never talks to etcd."
  static override examples = [
    `echo '{"cniVersion":"1.0.0"}' | CNI_COMMAND=VERSION <%= config.bin %> cni`,
    `CNI_COMMAND=ADD CNI_CONTAINERID=pod1 CNI_NETNS=/var/run/netns/pod1 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \\
  <%= config.bin %> cni < /etc/cni/net.d/cnet.conf`,
  ]

  // The plugin reads subnet.env, never etcd: only the log flags apply (typed as the base's, which it is a part of).
  static override baseFlags = logFlags as unknown as typeof globalFlags
  // stdout belongs to the CNI result alone.
  static override enableJsonFlag = false

  async run(): Promise<void> {
    if (!process.env.CNI_COMMAND) {
      throw new UsageError('cni: CNI_COMMAND is not set', 'this is the CNI plugin that container runtimes run; see cnet cni install')
    }
    const output = await runCni(process.env, await readStdin(), this.logger.child('cni'))
    process.stdout.write(output.stdout)
    if (output.exitCode !== 0) this.exit(output.exitCode)
  }

  override async catch(error: Error & {oclif?: {exit?: number}; code?: string}): Promise<never> {
    // A runtime reads stdout only: even a bad flag (say CNET_LOG_LEVEL) is told in the spec's terms.
    if (process.env.CNI_COMMAND && error.code !== 'EEXIT') {
      process.stdout.write(JSON.stringify(errorDocument(new CniError(CniCode.invalidEnv, describeError(error).line))) + '\n')
      this.exit(1)
    }
    return super.catch(error)
  }
}
