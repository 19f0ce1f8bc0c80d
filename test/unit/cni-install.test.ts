import {execFileSync} from 'node:child_process'
import {chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from '@jest/globals'
import {installCni} from '../../src/cni/install.js'
import {type InstallOptions, RUNTIME_PLUGIN_DIRS, missingCompanions, planInstall, shellQuote} from '../../src/cni/install-plan.js'
import {ConflictError, InvalidValueError} from '../../src/lib/errors.js'

describe('cnet cni install', () => {
  let dir: string
  let options: InstallOptions & {force: boolean}
  /** No runtime directory of the machine running the tests: only the test's own. */
  const isolated = () => ({pluginDirs: [join(dir, 'usr-lib-cni')], plugin: '/opt/cnet/bin/cnet-cni.cjs'})
  const plugin = (where: string, name: string, mode = 0o755) => {
    mkdirSync(where, {recursive: true})
    writeFileSync(join(where, name), '#!/bin/sh\n')
    chmodSync(join(where, name), mode)
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cni-install-'))
    options = {confDir: join(dir, 'net.d'), binDir: join(dir, 'bin'), subnetFile: '/run/cnet/subnet.env', dataDir: '/var/lib/cni/cnet', name: 'cnet', bridge: 'cnet0', defaultGateway: true, force: false}
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('plans a conflist with cnet then portmap, and a shim that execs the plugin entry, not the CLI', () => {
    const plan = planInstall(options, {node: '/usr/bin/node', plugin: "/opt/it's here/bin/cnet-cni.cjs"})
    expect(plan.confFile).toBe(join(dir, 'net.d', '10-cnet.conflist'))
    expect(JSON.parse(plan.conflist)).toEqual({
      cniVersion: '1.0.0',
      name: 'cnet',
      plugins: [
        {type: 'cnet', subnetFile: '/run/cnet/subnet.env', dataDir: '/var/lib/cni/cnet', bridge: 'cnet0'},
        {type: 'portmap', capabilities: {portMappings: true}},
      ],
    })
    expect(plan.shim).toContain(`exec '/usr/bin/node' '/opt/it'\\''s here/bin/cnet-cni.cjs' "$@"`)
    expect(plan.shim).not.toContain('run.js')
  })

  it('--no-default-gateway leaves the default route to the other network: the bridge gets isDefaultGateway false', () => {
    const plan = planInstall({...options, defaultGateway: false}, {node: '/usr/bin/node', plugin: '/p.js'})
    expect(JSON.parse(plan.conflist).plugins[0]).toEqual({type: 'cnet', subnetFile: '/run/cnet/subnet.env', dataDir: '/var/lib/cni/cnet', bridge: 'cnet0', delegate: {isDefaultGateway: false}})
  })

  it('quotes words so sh gives them back unchanged', () => {
    const word = `a b'c"$HOME\\`
    expect(execFileSync('sh', ['-c', `printf %s ${shellQuote(word)}`]).toString()).toBe(word)
  })

  it.each([
    [{confDir: 'net.d'}, 'confDir'],
    [{binDir: ''}, 'binDir'],
    [{subnetFile: 'subnet.env'}, 'subnetFile'],
    [{dataDir: './data'}, 'dataDir'],
    [{name: 'my net'}, 'name'],
    [{bridge: 'bridge/0'}, 'bridge'],
  ])('refuses %j, naming the field %s, and writes nothing', (change, field) => {
    let thrown: unknown
    try {
      installCni({...options, ...change}, isolated())
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(InvalidValueError)
    expect((thrown as InvalidValueError).field).toBe(field)
    expect(() => statSync(join(dir, 'net.d'))).toThrow()
    expect(() => statSync(join(dir, 'bin'))).toThrow()
  })

  it('writes both files once; a second run writes nothing', () => {
    const first = installCni(options, isolated())
    expect(first.written).toEqual([join(dir, 'bin', 'cnet'), join(dir, 'net.d', '10-cnet.conflist')])
    expect(statSync(first.pluginFile).mode & 0o777).toBe(0o755)
    expect(readFileSync(first.pluginFile, 'utf8')).toContain(`'/opt/cnet/bin/cnet-cni.cjs' "$@"`)
    expect(installCni(options, isolated()).written).toEqual([])
  })

  it('puts the conflist back after it was deleted (as `podman network rm` does), leaving the shim alone', () => {
    const first = installCni(options, isolated())
    rmSync(first.confFile)
    expect(installCni(options, isolated()).written).toEqual([first.confFile])
  })

  it('warns only about plugins that neither the bin dir nor a runtime directory holds', () => {
    expect(installCni(options, isolated())).toMatchObject({missingPlugins: ['bridge', 'host-local', 'portmap'], searchedDirs: [join(dir, 'bin'), join(dir, 'usr-lib-cni')]})
    plugin(join(dir, 'usr-lib-cni'), 'bridge')
    plugin(join(dir, 'usr-lib-cni'), 'host-local')
    plugin(join(dir, 'bin'), 'portmap', 0o644)
    expect(installCni(options, isolated()).missingPlugins).toEqual(['portmap'])
    chmodSync(join(dir, 'bin', 'portmap'), 0o755)
    expect(installCni(options, isolated()).missingPlugins).toEqual([])
  })

  it('searches the runtimes’ usual plugin directories by default', () => {
    expect(RUNTIME_PLUGIN_DIRS).toEqual(['/opt/cni/bin', '/usr/lib/cni', '/usr/libexec/cni'])
    const present = new Set(['/usr/libexec/cni/bridge', '/usr/lib/cni/host-local', '/opt/cni/bin/portmap'])
    expect(missingCompanions(RUNTIME_PLUGIN_DIRS, (file) => present.has(file))).toEqual([])
    expect(missingCompanions(['/opt/cni/bin'], (file) => present.has(file))).toEqual(['bridge', 'host-local'])
  })

  it('rewrites a changed conflist and leaves the shim alone', () => {
    installCni(options, isolated())
    const changed = installCni({...options, subnetFile: '/run/flannel/subnet.env'}, isolated())
    expect(changed.written).toEqual([join(dir, 'net.d', '10-cnet.conflist')])
    expect(readFileSync(changed.confFile, 'utf8')).toContain('/run/flannel/subnet.env')
  })

  it('replaces the shim of an older install that ran the whole CLI', () => {
    mkdirSync(join(dir, 'bin'))
    writeFileSync(join(dir, 'bin', 'cnet'), "#!/bin/sh\n# written by cnet cni install\nexec '/usr/bin/node' '/opt/cnet/bin/run.js' cni \"$@\"\n")
    expect(installCni(options, isolated()).written).toContain(join(dir, 'bin', 'cnet'))
  })

  it('refuses to replace a cnet in the bin dir that it did not write, unless forced', () => {
    mkdirSync(join(dir, 'bin'))
    writeFileSync(join(dir, 'bin', 'cnet'), '#!/bin/sh\necho someone else\n')
    expect(() => installCni(options, isolated())).toThrow(ConflictError)
    expect(() => statSync(join(dir, 'net.d'))).toThrow()
    expect(installCni({...options, force: true}, isolated()).written).toHaveLength(2)
  })
})
