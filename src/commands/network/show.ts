import {BaseCommand} from '../../cli/base-command.js'
import {networkRecord} from '../../cli/human.js'
import {renderRecord} from '../../cli/output.js'
import type {NetworkConfig} from '../../net/network-config.js'
import {readNetworkConfig} from '../../net/network-store.js'

export default class NetworkShow extends BaseCommand<typeof NetworkShow> {
  static override summary = 'Print the cluster network config with its defaults filled in'
  static override examples = ['<%= config.bin %> network show', '<%= config.bin %> network show --json | jq -r .Network']

  async run(): Promise<NetworkConfig> {
    const config = await readNetworkConfig(await this.store(), this.keys)
    this.log(renderRecord(networkRecord(config)))
    return config
  }
}

