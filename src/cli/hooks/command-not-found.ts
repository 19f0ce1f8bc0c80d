import type {Hook} from '@oclif/core/hooks'
import {UsageError} from '../../lib/errors.js'
import {reportFailure} from '../failure.js'
import {suggestCommand} from '../suggest.js'

/**
 * What `cnet <words>` does when the words name no command.
 *
 * - A command followed by extra words (`cnet network show extra-arg`): oclif took the
 *   words for part of the command's name; the command runs with them as arguments, so
 *   its own parser says which argument is unexpected.
 * - On an interactive terminal, oclif's not-found plugin asks "Did you mean ...?" and
 *   runs the suggestion on yes.
 * - Otherwise (scripts, --json): one line naming the nearest command, exit 2.
 */
const hook: Hook.CommandNotFound = async function (options) {
  const {config, id} = options
  const argv = options.argv ?? []
  const words = id.split(':')
  for (let n = words.length - 1; n > 0; n--) {
    const command = words.slice(0, n).join(':')
    if (config.findCommand(command)) return config.runCommand(command, [...words.slice(n), ...argv])
  }

  const json = flagsOf(argv).includes('--json')
  let declined = false
  if (!json && process.stdin.isTTY && process.stderr.isTTY) {
    const {default: ask} = await import('@oclif/plugin-not-found')
    try {
      return await ask.call(this, options)
    } catch (error) {
      if ((error as {code?: string}).code === 'EEXIT') throw error
      // Declined: told below, with cnet's exit code for a usage error.
      declined = true
    }
  }

  const known = [...config.commands.filter((c) => !c.hidden).map((c) => c.id), ...config.topics.filter((t) => !t.hidden).map((t) => t.name)]
  const {typed, suggestion} = declined ? {typed: words, suggestion: undefined} : suggestCommand(words, known)
  const error = new UsageError(
    `"${typed.join(' ')}" is not a ${config.bin} command`,
    suggestion ? `did you mean "${suggestion.split(':').join(' ')}"? see ${config.bin} help` : `see ${config.bin} help`,
  )
  this.exit(reportFailure(error, {json, argv}))
}

/** The arguments before a `--`. */
function flagsOf(argv: string[]): string[] {
  const end = argv.indexOf('--')
  return end < 0 ? argv : argv.slice(0, end)
}

export default hook
