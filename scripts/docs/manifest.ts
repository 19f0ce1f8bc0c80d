import {readFileSync} from 'node:fs'

/**
 * The parts of oclif.manifest.json (written by `oclif manifest` at build time from the
 * commands themselves) that the reference is made of.
 */
export interface ManifestFlag {
  name: string
  type: 'boolean' | 'option'
  description?: string
  char?: string
  env?: string
  default?: unknown
  options?: string[]
  multiple?: boolean
  required?: boolean
  allowNo?: boolean
  dependsOn?: string[]
  exclusive?: string[]
  helpGroup?: string
  hidden?: boolean
}

export interface ManifestArg {
  name: string
  description?: string
  required?: boolean
  options?: string[]
  hidden?: boolean
}

export interface ManifestCommand {
  id: string
  summary?: string
  description?: string
  examples?: (string | {command: string; description?: string})[]
  flags: Record<string, ManifestFlag>
  args: Record<string, ManifestArg>
  aliases?: string[]
  hidden?: boolean
  enableJsonFlag?: boolean
}

export interface Manifest {
  version: string
  commands: Record<string, ManifestCommand>
}

export interface Topic {
  name: string
  description: string
}

export function readManifest(path: string): Manifest {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Manifest
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message} (run npm run build first)`)
  }
}

/** The topics package.json declares, in its order. */
export function readTopics(packageJsonPath: string): Topic[] {
  const pkg = JSON.parse(readFileSync(packageJsonPath, 'utf8')) as {oclif?: {topics?: Record<string, {description: string}>}}
  return Object.entries(pkg.oclif?.topics ?? {}).map(([name, topic]) => ({name, description: topic.description}))
}

/** Commands as users type them: `svc register`, not `svc:register`. */
export const spaced = (id: string): string => id.replaceAll(':', ' ')

/** The commands a user can run: not hidden ones (oclif's autocomplete internals). */
export const visibleCommands = (manifest: Manifest): ManifestCommand[] =>
  Object.values(manifest.commands)
    .filter((c) => !c.hidden)
    .sort((a, b) => a.id.localeCompare(b.id))

/** Whether a command prints a --json document: it has the flag. */
export const hasJson = (command: ManifestCommand): boolean => 'json' in command.flags
