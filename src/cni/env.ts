import {CniCode, CniError, IDENTIFIER} from './spec.js'

/**
 * The CNI_* variables a runtime sets, checked per command as the spec requires them.
 * Pure: takes the environment as a plain object.
 */
export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION'

export interface CniInvocation {
  command: CniCommand
  containerId: string
  /** Absent on DEL when the runtime no longer knows the namespace. */
  netns?: string
  ifName: string
  /** Directories searched for the delegate plugin, in order. */
  path: string[]
  /** CNI_ARGS as pairs; cnet reads none of them but keeps them for the delegate. */
  args: Record<string, string>
}

const COMMANDS: readonly string[] = ['ADD', 'DEL', 'CHECK', 'VERSION']

export function parseInvocation(env: Record<string, string | undefined>): CniInvocation {
  const command = env.CNI_COMMAND ?? ''
  if (!COMMANDS.includes(command)) {
    throw new CniError(CniCode.invalidEnv, `CNI_COMMAND "${command}" is not one of ${COMMANDS.join(', ')}`, 'cnet speaks CNI 1.0.0: ADD, DEL, CHECK and VERSION')
  }
  const invocation: CniInvocation = {command: command as CniCommand, containerId: '', ifName: '', path: splitPath(env.CNI_PATH), args: parseArgs(env.CNI_ARGS ?? '')}
  if (command === 'VERSION') return invocation
  const required = (name: string): string => {
    const value = env[name]
    if (!value) throw new CniError(CniCode.invalidEnv, `${name} is not set (the container runtime must set it for ${command})`)
    return value
  }
  invocation.containerId = required('CNI_CONTAINERID')
  if (!IDENTIFIER.test(invocation.containerId)) {
    throw new CniError(CniCode.invalidEnv, `CNI_CONTAINERID "${invocation.containerId}" is not a container ID (letters, digits, _ . -, starting with a letter or digit)`)
  }
  invocation.ifName = required('CNI_IFNAME')
  if (!validIfName(invocation.ifName)) throw new CniError(CniCode.invalidEnv, `CNI_IFNAME "${invocation.ifName}" is not an interface name (1-15 characters, no /, : or spaces)`)
  // DEL must work when the namespace is already gone, so only ADD and CHECK need it.
  invocation.netns = command === 'DEL' ? env.CNI_NETNS || undefined : required('CNI_NETNS')
  return invocation
}

export function splitPath(text: string | undefined): string[] {
  return (text ?? '').split(':').filter(Boolean)
}

/** CNI_ARGS is `K=V;K2=V2`; a part without `=` is a runtime bug, reported as invalid env. */
export function parseArgs(text: string): Record<string, string> {
  const args: Record<string, string> = {}
  for (const part of text.split(';').filter(Boolean)) {
    const eq = part.indexOf('=')
    if (eq <= 0) throw new CniError(CniCode.invalidEnv, `CNI_ARGS part "${part}" is not KEY=VALUE`)
    args[part.slice(0, eq)] = part.slice(eq + 1)
  }
  return args
}

/** Linux interface names: at most 15 bytes, none of `/`, `:` or whitespace, not . or .. */
export function validIfName(name: string): boolean {
  return name.length > 0 && Buffer.byteLength(name) <= 15 && !/[/:\s]/.test(name) && name !== '.' && name !== '..'
}
