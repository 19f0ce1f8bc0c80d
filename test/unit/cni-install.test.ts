import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from '@jest/globals'
import {installCni} from '../../src/cni/install.js'
import {type InstallOptions, planInstall, shellQuote} from '../../src/cni/install-plan.js'
import {ConflictError, UsageError} from '../../src/lib/errors.js'

describe('cnet cni install', () => {
  let dir: string
  let options: InstallOptions & {force: boolean}

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cni-install-'))
    options = {confDir: join(dir, 'net.d'), binDir: join(dir, 'bin'), subnetFile: '/run/cnet/subnet.env', dataDir: '/var/lib/cni/cnet', name: 'cnet', bridge: 'cnet0', force: false}
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('plans a conflist with cnet then portmap, and a shim that execs the CLI', () => {
    const plan = planInstall(options, {node: '/usr/bin/node', cli: "/opt/it's here/bin/run.js"})
    expect(plan.confFile).toBe(join(dir, 'net.d', '10-cnet.conflist'))
    expect(JSON.parse(plan.conflist)).toEqual({
      cniVersion: '1.0.0',
      name: 'cnet',
      plugins: [
        {type: 'cnet', subnetFile: '/run/cnet/subnet.env', dataDir: '/var/lib/cni/cnet', bridge: 'cnet0'},
        {type: 'portmap', capabilities: {portMappings: true}},
      ],
    })
    expect(plan.shim).toContain(`exec '/usr/bin/node' '/opt/it'\\''s here/bin/run.js' cni "$@"`)
  })

  it('quotes words so sh gives them back unchanged', () => {
    const word = `a b'c"$HOME\\`
    expect(execFileSync('sh', ['-c', `printf %s ${shellQuote(word)}`]).toString()).toBe(word)
  })

  it.each([
    [{confDir: 'net.d'}, /--conf-dir/],
    [{binDir: ''}, /--bin-dir/],
    [{subnetFile: 'subnet.env'}, /--subnet-file/],
    [{dataDir: './data'}, /--data-dir/],
    [{name: 'my net'}, /--name/],
    [{bridge: 'bridge/0'}, /--bridge/],
  ])('refuses %j and writes nothing', (change, message) => {
    expect(() => installCni({...options, ...change})).toThrow(UsageError)
    expect(() => installCni({...options, ...change})).toThrow(message)
    expect(() => statSync(join(dir, 'net.d'))).toThrow()
    expect(() => statSync(join(dir, 'bin'))).toThrow()
  })

  it('writes both files once; a second run writes nothing', () => {
    const first = installCni(options)
    expect(first.written).toEqual([join(dir, 'bin', 'cnet'), join(dir, 'net.d', '10-cnet.conflist')])
    expect(first.missingPlugins).toEqual(['bridge', 'host-local', 'portmap'])
    expect(statSync(first.pluginFile).mode & 0o777).toBe(0o755)
    expect(installCni(options).written).toEqual([])
    writeFileSync(join(dir, 'bin', 'portmap'), '')
    expect(installCni(options).missingPlugins).toEqual(['bridge', 'host-local'])
  })

  it('rewrites a changed conflist and leaves the shim alone', () => {
    installCni(options)
    const changed = installCni({...options, subnetFile: '/run/flannel/subnet.env'})
    expect(changed.written).toEqual([join(dir, 'net.d', '10-cnet.conflist')])
    expect(readFileSync(changed.confFile, 'utf8')).toContain('/run/flannel/subnet.env')
  })

  it('refuses to replace a cnet in the bin dir that it did not write, unless forced', () => {
    mkdirSync(join(dir, 'bin'))
    writeFileSync(join(dir, 'bin', 'cnet'), '#!/bin/sh\necho someone else\n')
    expect(() => installCni(options)).toThrow(ConflictError)
    expect(() => statSync(join(dir, 'net.d'))).toThrow()
    expect(installCni({...options, force: true}).written).toHaveLength(2)
  })
})
