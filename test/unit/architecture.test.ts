import {readFileSync, readdirSync, statSync} from 'node:fs'
import {dirname, join, normalize, relative} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from '@jest/globals'

/**
 * The import rules docs/architecture.md states, checked on the sources: each folder of
 * src/ imports only the folders below it, only src/store/ imports etcd3, and only the
 * subprocess runner (and the lab's detached daemons) start processes.
 */
const SRC = fileURLToPath(new URL('../../src/', import.meta.url))

/** What each folder may import (besides itself). */
const MAY_IMPORT: Record<string, string[]> = {
  lib: [],
  store: ['lib'],
  svc: ['store', 'lib'],
  net: ['store', 'lib'],
  health: ['svc', 'store', 'lib'],
  dns: ['net', 'svc', 'store', 'lib'],
  cni: ['net', 'lib'],
  lab: ['net', 'svc', 'store', 'lib'],
  cli: ['lab', 'cni', 'dns', 'net', 'health', 'svc', 'store', 'lib'],
  commands: ['cli', 'lab', 'cni', 'dns', 'net', 'health', 'svc', 'store', 'lib'],
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : []
  })
}

const files = sources(SRC).map((path) => ({file: relative(SRC, path), text: readFileSync(path, 'utf8')}))
const folderOf = (file: string) => file.split('/')[0]
const specifiers = (text: string) => [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1])

describe('imports run downwards (docs/architecture.md)', () => {
  it('every folder of src/ is placed in the rules', () => {
    expect([...new Set(files.map((f) => folderOf(f.file)))].filter((folder) => folder.endsWith('.ts') === false).sort()).toEqual(Object.keys(MAY_IMPORT).sort())
  })

  it('no folder imports a folder above it', () => {
    const upward: string[] = []
    for (const {file, text} of files) {
      const from = folderOf(file)
      for (const specifier of specifiers(text).filter((s) => s.startsWith('.'))) {
        const target = folderOf(normalize(join(dirname(file), specifier)))
        if (target !== from && target in MAY_IMPORT && !MAY_IMPORT[from]?.includes(target)) upward.push(`${file} imports ${specifier}`)
      }
    }
    expect(upward).toEqual([])
  })

  it('only src/store imports etcd3, and only the runner (one-shot and kept) and the lab daemons start processes', () => {
    const offenders = files.flatMap(({file, text}) => {
      const found = specifiers(text)
      const out: string[] = []
      if (found.some((s) => s === 'etcd3' || s.startsWith('etcd3/')) && !file.startsWith('store/')) out.push(`${file} imports etcd3`)
      if (found.some((s) => s === 'node:child_process' || s === 'child_process' || s === 'execa') && !['lib/run-command.ts', 'lib/batch-session.ts', 'lab/daemons.ts'].includes(file)) out.push(`${file} starts processes`)
      return out
    })
    expect(offenders).toEqual([])
  })
})
