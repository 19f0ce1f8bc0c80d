import {isAbsolute, join} from 'node:path'
import {UsageError} from '../lib/errors.js'
import {validIfName} from './env.js'
import {IDENTIFIER} from './spec.js'

/**
 * What `cnet cni install` writes, as plain data: a conflist that runtimes read from their
 * config dir, and a `cnet` shim in their bin dir (runtimes run a plugin by its type name,
 * and cnet's plugin is a command of the CLI). Pure; flags are checked here so nothing is
 * written when one is wrong.
 */
export interface InstallOptions {
  confDir: string
  binDir: string
  subnetFile: string
  dataDir: string
  name: string
  bridge: string
}

export interface InstallPlan {
  confFile: string
  conflist: string
  shimFile: string
  shim: string
}

/** The line that marks a shim as cnet's own, so it may be replaced without --force. */
export const SHIM_MARKER = '# written by cnet cni install'
/** Delegates runtimes must find next to the shim (bridge and host-local via cnet, portmap in the chain). */
export const COMPANION_PLUGINS = ['bridge', 'host-local', 'portmap'] as const

export function validateInstall(options: InstallOptions): void {
  for (const [flag, value] of [['--conf-dir', options.confDir], ['--bin-dir', options.binDir], ['--subnet-file', options.subnetFile], ['--data-dir', options.dataDir]] as const) {
    if (!isAbsolute(value)) throw new UsageError(`${flag}: "${value}" must be an absolute path`, 'runtimes run the plugin from their own working directory')
  }
  if (!IDENTIFIER.test(options.name)) throw new UsageError(`--name: "${options.name}" is not a network name`, 'letters, digits, _ . -, starting with a letter or digit')
  if (!validIfName(options.bridge)) throw new UsageError(`--bridge: "${options.bridge}" is not an interface name`, '1-15 characters, no /, : or spaces')
}

/** Single-quotes a word for sh, so any path survives. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`
}

export function planInstall(options: InstallOptions, runtime: {node: string; cli: string}): InstallPlan {
  validateInstall(options)
  const conflist = {
    cniVersion: '1.0.0',
    name: options.name,
    plugins: [
      {type: 'cnet', subnetFile: options.subnetFile, dataDir: options.dataDir, bridge: options.bridge},
      {type: 'portmap', capabilities: {portMappings: true}},
    ],
  }
  const shim = [
    '#!/bin/sh',
    SHIM_MARKER,
    "# Container runtimes run a CNI plugin by its type name; this one is cnet's `cni` command.",
    `exec ${shellQuote(runtime.node)} ${shellQuote(runtime.cli)} cni "$@"`,
    '',
  ].join('\n')
  return {
    confFile: join(options.confDir, `10-${options.name}.conflist`),
    conflist: JSON.stringify(conflist, null, 2) + '\n',
    shimFile: join(options.binDir, 'cnet'),
    shim,
  }
}
