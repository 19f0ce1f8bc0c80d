import {readFile} from 'node:fs/promises'
import {ConfigError} from '../lib/errors.js'
import {type ServeSettings, inFile, settingsFromObject} from './serve-options.js'

/**
 * Reads `dns serve --config FILE`: a JSON object whose keys are the long flag names,
 * plus `forward` and `hosts`. Any problem is a ConfigError naming the file (and the
 * key, when one is wrong): at start that exits 3, on a reload the old config stays.
 */
export async function readServeConfigFile(path: string): Promise<ServeSettings> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new ConfigError(`${path}: cannot read the config file (${code ?? (error as Error).message})`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new ConfigError(`${path}: not valid JSON (${(error as Error).message})`)
  }
  try {
    return settingsFromObject(raw)
  } catch (error) {
    throw inFile(path, error)
  }
}
