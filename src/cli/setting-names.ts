import {CnetError, InvalidValueError} from '../lib/errors.js'

/**
 * How a command's settings are named to the user in errors: its flags (with their
 * environment variables), arguments and own field mappings. What a command class
 * declares, or the plain copy a `dns serve` worker gets (it loads no oclif).
 */
export interface SettingNames {
  fieldNames?: Record<string, string>
  flags?: object
  baseFlags?: object
  args?: object
}

/**
 * A library field as the user typed it: the command's own mapping, else a flag of that
 * name (`--field`), else an argument of that name (`FIELD`), else the field itself.
 */
export function userNameOf(command: SettingNames, field: string): string {
  const mapped = command.fieldNames?.[field]
  if (mapped) return mapped
  if ((command.flags && field in command.flags) || (command.baseFlags && field in command.baseFlags)) return `--${field}`
  if (command.args && field in command.args) return field.toUpperCase()
  return field
}

/** Settings ("etcd-username,etcd-password") as the user sets them: "--etcd-username/--etcd-password (CNET_ETCD_USERNAME, CNET_ETCD_PASSWORD)". */
export function settingHint(command: SettingNames, setting: string): string {
  const flags = declaredFlags(command) as Record<string, {env?: string} | undefined>
  const names = setting.split(',')
  const envs = names.map((name) => flags[name]?.env).filter(Boolean)
  return `${names.map((name) => userNameOf(command, name)).join('/')}${envs.length ? ` (${envs.join(', ')})` : ''}`
}

/** An error as the user should read it: a bad value named by its flag, a setting to check named with its variables. */
export function inUserTerms(error: Error, command: SettingNames): Error {
  const named = error instanceof InvalidValueError ? error.renamed(userNameOf(command, error.field)) : error
  if (named instanceof CnetError && named.setting) named.hint = [named.hint, `check ${settingHint(command, named.setting)}`].filter(Boolean).join('; ')
  return named
}

/** The names of a command's flags and their environment variables, as plain data (for a worker process). */
export function flagNames(command: SettingNames): Record<string, {env?: string}> {
  return Object.fromEntries(Object.entries(declaredFlags(command)).map(([name, flag]) => [name, flag.env ? {env: flag.env} : {}]))
}

/** Every flag a command takes, the global ones included. */
const declaredFlags = (command: SettingNames) => ({...command.baseFlags, ...command.flags}) as Record<string, {env?: string}>
