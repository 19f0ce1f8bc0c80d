import {BaseCommand} from '../cli/base-command.js'

export interface VersionResult {
  version: string
  node: string
  platform: string
  arch: string
}

export default class Version extends BaseCommand<typeof Version> {
  static override summary = "Print cnet's version, with the Node.js version and platform it runs on"
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version --json | jq -r .version']

  async run(): Promise<VersionResult> {
    const result = {version: this.config.version, node: process.versions.node, platform: this.config.platform, arch: this.config.arch}
    this.log(`${this.config.bin} ${result.version} (node ${result.node}, ${result.platform}-${result.arch})`)
    return result
  }
}
