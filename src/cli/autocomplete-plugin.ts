import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {pathToFileURL} from 'node:url'

/**
 * The commands of oclif's autocomplete plugin (pinned to an exact version in
 * package.json), as cnet's own `autocomplete` commands. Listed as an oclif plugin it
 * would be loaded by every command (about 5 ms of each start); as commands of cnet's
 * it is read only when an autocomplete command runs. The plugin exports no commands,
 * so they are loaded from its files, found through its entry point.
 */
export async function autocompleteCommand(name: 'index' | 'script' | 'create'): Promise<unknown> {
  const lib = dirname(createRequire(import.meta.url).resolve('@oclif/plugin-autocomplete'))
  const module = (await import(pathToFileURL(join(lib, 'commands', 'autocomplete', `${name}.js`)).href)) as {default: unknown}
  return module.default
}
