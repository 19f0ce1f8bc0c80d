import type {Command} from '@oclif/core/command'
import {CommandHelp, Help} from '@oclif/core/help'

/**
 * oclif's help with a short usage line, as gh and kubectl write theirs: the arguments,
 * the required flags, then [FLAGS] for the rest (listed below it in full). oclif's own
 * spells out every optional and global flag there, which buries the command.
 */
export function usageLine(command: Pick<Command.Loadable, 'args' | 'flags'>): string {
  const args = Object.values(command.args ?? {})
    .filter((a) => !a.hidden)
    .map((a) => (a.required ? a.name.toUpperCase() : `[${a.name.toUpperCase()}]`))
  const flags = Object.values(command.flags ?? {}).filter((f) => !f.hidden)
  const required = flags.filter((f) => f.required).map((f) => (f.type === 'boolean' ? `--${f.name}` : `--${f.name} <value>`))
  const optional = flags.some((f) => !f.required) ? ['[FLAGS]'] : []
  return ['<%= command.id %>', ...args, ...required, ...optional].join(' ')
}

class CnetCommandHelp extends CommandHelp {
  protected override defaultUsage(): string {
    return usageLine(this.command)
  }
}

export default class CnetHelp extends Help {
  protected override CommandHelpClass = CnetCommandHelp
}
