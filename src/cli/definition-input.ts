import {readFileSync} from 'node:fs'
import {InvalidValueError} from '../lib/errors.js'

/** The text of a definition file, `-` for stdin; one that cannot be read is named by the `file` field (--file). */
export function readDefinitionFile(path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8')
  } catch (error) {
    throw new InvalidValueError('file', `cannot read ${path === '-' ? 'stdin' : path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
}
