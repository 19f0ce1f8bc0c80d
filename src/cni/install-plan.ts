import {isAbsolute, join} from 'node:path'
import {InvalidValueError} from '../lib/errors.js'
import {validIfName} from './env.js'
import {IDENTIFIER} from './spec.js'

/**
 * What `cnet cni install` writes, as plain data: a conflist that runtimes read from their
 * config dir, and a `cnet` shim in their bin dir (runtimes run a plugin by its type name;
 * the shim runs cnet's plugin entry, bin/cnet-cni.cjs, without the rest of the CLI). Pure;
 * options are checked here so nothing is written when one is wrong.
 */
export interface InstallOptions {
  confDir: string
  binDir: string
  subnetFile: string
  dataDir: string
  name: string
  bridge: string
  /**
   * Whether the bridge gives pods their default route (flannel's default). Off for a
   * container that has another network for its default route: cnet then routes only
   * the cluster network.
   */
  defaultGateway: boolean
}

export interface InstallPlan {
  confFile: string
  conflist: string
  shimFile: string
  shim: string
}

/** What the shim runs: this Node and the plugin's entry script, both absolute. */
export interface PluginRuntime {
  node: string
  plugin: string
}

/** The line that marks a shim as cnet's own, so it may be replaced without --force. */
export const SHIM_MARKER = '# written by cnet cni install'
/** Delegates runtimes must find next to the shim (bridge and host-local via cnet, portmap in the chain). */
export const COMPANION_PLUGINS = ['bridge', 'host-local', 'portmap'] as const
/**
 * Where runtimes look for plugins unless told otherwise: containerd and the CNI
 * convention /opt/cni/bin; podman also /usr/libexec/cni and /usr/lib/cni (where Debian's
 * containernetworking-plugins puts them); CRI-O /usr/libexec/cni.
 */
export const RUNTIME_PLUGIN_DIRS = ['/opt/cni/bin', '/usr/lib/cni', '/usr/libexec/cni'] as const

export function validateInstall(options: InstallOptions): void {
  for (const [field, value] of [['confDir', options.confDir], ['binDir', options.binDir], ['subnetFile', options.subnetFile], ['dataDir', options.dataDir]] as const) {
    if (!isAbsolute(value)) throw new InvalidValueError(field, `"${value}" must be an absolute path`, 'runtimes run the plugin from their own working directory')
  }
  if (!IDENTIFIER.test(options.name)) throw new InvalidValueError('name', `"${options.name}" is not a network name`, 'letters, digits, _ . -, starting with a letter or digit')
  if (!validIfName(options.bridge)) throw new InvalidValueError('bridge', `"${options.bridge}" is not an interface name`, '1-15 characters, no /, : or spaces')
}

/** Single-quotes a word for sh, so any path survives. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`
}

export function planInstall(options: InstallOptions, runtime: PluginRuntime): InstallPlan {
  validateInstall(options)
  const cnet = {
    type: 'cnet',
    subnetFile: options.subnetFile,
    dataDir: options.dataDir,
    bridge: options.bridge,
    ...(options.defaultGateway ? {} : {delegate: {isDefaultGateway: false}}),
  }
  const conflist = {cniVersion: '1.0.0', name: options.name, plugins: [cnet, {type: 'portmap', capabilities: {portMappings: true}}]}
  const shim = [
    '#!/bin/sh',
    SHIM_MARKER,
    '# Container runtimes run a CNI plugin by its type name; this runs cnet\'s plugin alone, without the CLI.',
    `exec ${shellQuote(runtime.node)} ${shellQuote(runtime.plugin)} "$@"`,
    '',
  ].join('\n')
  return {
    confFile: join(options.confDir, `10-${options.name}.conflist`),
    conflist: JSON.stringify(conflist, null, 2) + '\n',
    shimFile: join(options.binDir, 'cnet'),
    shim,
  }
}

/** The companion plugins that none of the directories holds; `exists` is injected so this stays pure. */
export function missingCompanions(dirs: readonly string[], exists: (file: string) => boolean): string[] {
  return COMPANION_PLUGINS.filter((plugin) => !dirs.some((dir) => exists(join(dir, plugin))))
}
