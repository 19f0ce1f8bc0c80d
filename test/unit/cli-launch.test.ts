import {describe, expect, it} from '@jest/globals'
import {CLI_BUNDLE, bundledOclif, hookIdentifier} from '../../src/cli/launch.js'

describe('bundledOclif', () => {
  it('points the commands, the help class and every hook at the bundle, and keeps the rest', () => {
    const oclif = {bin: 'cnet', commands: './dist/commands', helpClass: './dist/cli/help.js', hooks: {command_not_found: './dist/cli/hooks/command-not-found.js', init: './dist/cli/hooks/init.js'}, topicSeparator: ' ' as const, topics: {svc: {description: 'services'}}}
    expect(bundledOclif(oclif)).toEqual({
      bin: 'cnet',
      topicSeparator: ' ',
      topics: {svc: {description: 'services'}},
      commands: {strategy: 'explicit', target: CLI_BUNDLE, identifier: 'COMMANDS'},
      helpClass: {target: CLI_BUNDLE, identifier: 'Help'},
      hooks: {command_not_found: {target: CLI_BUNDLE, identifier: 'hook_command_not_found'}, init: {target: CLI_BUNDLE, identifier: 'hook_init'}},
    })
    // What package.json says is left as it was: the manifest, the tests and dev read it.
    expect(oclif.commands).toBe('./dist/commands')
  })

  it('gives no hooks when package.json names none', () => {
    expect(bundledOclif({bin: 'cnet'}).hooks).toEqual({})
    expect(hookIdentifier('command_not_found')).toBe('hook_command_not_found')
  })
})
