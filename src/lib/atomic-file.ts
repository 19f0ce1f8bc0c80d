import {closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'

/** Writes a file so readers see the old content or the new, never half: temp file, fsync, rename. */
export function writeFileAtomic(path: string, content: string, mode = 0o644): void {
  const dir = dirname(path)
  mkdirSync(dir, {recursive: true})
  const temp = join(dir, `.${basename(path)}.${process.pid}.tmp`)
  const fd = openSync(temp, 'w', mode)
  try {
    writeSync(fd, content)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(temp, path)
}
