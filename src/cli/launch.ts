import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {execute} from '@oclif/core/execute'
import type {PJSON} from '@oclif/core/interfaces'
import {settings} from '@oclif/core/settings'

/** Where the build puts the CLI as one file (scripts/bundle-cli.mjs), from the package root. */
export const CLI_BUNDLE = './dist/bundle/cli.cjs'

/**
 * package.json's oclif section, pointed at the bundle: its commands (by id), its help class
 * and its hooks come from the one file already loaded, not from a file each under dist/.
 * package.json itself keeps naming those files, for `oclif manifest`, the tests and dev.
 */
export function bundledOclif(oclif: PJSON['oclif']): PJSON['oclif'] {
  const hooks = Object.fromEntries(Object.keys(oclif.hooks ?? {}).map((event) => [event, {target: CLI_BUNDLE, identifier: hookIdentifier(event)}]))
  return {...oclif, commands: {strategy: 'explicit', target: CLI_BUNDLE, identifier: 'COMMANDS'}, helpClass: {target: CLI_BUNDLE, identifier: 'Help'}, hooks}
}

/** The bundle's export that holds the hook for an oclif event: `command_not_found` -> `hook_command_not_found`. */
export const hookIdentifier = (event: string): string => `hook_${event}`

/**
 * Runs cnet from the bundle (bin/run.js, when the build made one), for the package at
 * `root`. oclif is the bundle's own copy, so the command classes and the Command they
 * extend are one; it loads no TypeScript (the bundle is what ships, tests included,
 * whatever NODE_ENV says).
 */
export async function runBundled(root: string): Promise<unknown> {
  const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PJSON
  settings.enableAutoTranspile = false
  return execute({loadOptions: {root, pjson: {...pjson, oclif: bundledOclif(pjson.oclif)}}})
}
