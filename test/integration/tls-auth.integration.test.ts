import {execFileSync} from 'node:child_process'
import {rmSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {runCli} from '../helpers/cli.js'
import {type EtcdMember, startEtcd} from '../helpers/etcd.js'
import {freePort} from '../helpers/ports.js'
import {uniquePrefixes} from '../helpers/shared-etcd.js'
import {type TestPki, makeTestPki} from '../helpers/tls.js'

describe('etcd over TLS with client certificates', () => {
  let pki: TestPki
  let etcd: EtcdMember
  beforeAll(async () => {
    pki = makeTestPki()
    etcd = await startEtcd({name: 'tls', tls: {certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caFile, clientCertAuth: true}})
  }, 60_000)
  afterAll(async () => {
    await etcd?.destroy()
    if (pki) rmSync(pki.dir, {recursive: true, force: true})
  })

  it('works with the CA, client certificate and key', async () => {
    const prefixes = uniquePrefixes('tls')
    const env = {
      CNET_ETCD_ENDPOINTS: etcd.endpoint,
      CNET_ETCD_PREFIX: prefixes.networkPrefix,
      CNET_ETCD_CAFILE: pki.caFile,
      CNET_ETCD_CERTFILE: pki.clientCert,
      CNET_ETCD_KEYFILE: pki.clientKey,
    }
    expect(etcd.endpoint).toMatch(/^https:/)
    const init = await runCli(['network', 'init', '--network', '10.8.0.0/16'], {env})
    expect(init.stderr).toBe('')
    expect(init.exitCode).toBe(0)
    const show = await runCli(['network', 'show', '--json'], {env})
    expect(JSON.parse(show.stdout).Network).toBe('10.8.0.0/16')
  })

  it('fails with exit 4 and no hang without the client certificate', async () => {
    const env = {CNET_ETCD_ENDPOINTS: etcd.endpoint, CNET_ETCD_CAFILE: pki.caFile, CNET_ETCD_TIMEOUT: '2s'}
    const result = await runCli(['network', 'show'], {env})
    expect(result.exitCode).toBe(4)
    expect(result.durationMs).toBeLessThan(10_000)
  })

  it('names the flag of an unreadable certificate file (exit 2)', async () => {
    const env = {CNET_ETCD_ENDPOINTS: etcd.endpoint, CNET_ETCD_CAFILE: '/nonexistent/ca.crt'}
    const result = await runCli(['network', 'show'], {env})
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toMatch(/--etcd-cafile: cannot read \/nonexistent\/ca\.crt/)
  })
})

describe('etcd with user/password authentication', () => {
  let etcd: EtcdMember
  beforeAll(async () => {
    etcd = await startEtcd({name: 'auth'})
    const ctl = (...args: string[]) => execFileSync('etcdctl', ['--endpoints', etcd.endpoint, ...args], {stdio: 'pipe'})
    ctl('user', 'add', 'root:rootpw')
    ctl('user', 'add', 'cnet:cnetpw')
    ctl('role', 'add', 'cnet')
    ctl('role', 'grant-permission', 'cnet', '--prefix=true', 'readwrite', '/')
    ctl('user', 'grant-role', 'cnet', 'cnet')
    ctl('auth', 'enable')
  }, 60_000)
  afterAll(async () => etcd?.destroy())

  it('works with the right user and password', async () => {
    const prefixes = uniquePrefixes('auth')
    const env = {CNET_ETCD_ENDPOINTS: etcd.endpoint, CNET_ETCD_PREFIX: prefixes.networkPrefix, CNET_ETCD_USERNAME: 'cnet', CNET_ETCD_PASSWORD: 'cnetpw'}
    expect((await runCli(['network', 'init', '--network', '10.9.0.0/16'], {env})).exitCode).toBe(0)
    const show = await runCli(['network', 'show', '--json'], {env})
    expect(JSON.parse(show.stdout).Network).toBe('10.9.0.0/16')
  })

  it('fails with exit 3 and says to check the credentials on a wrong password', async () => {
    const env = {CNET_ETCD_ENDPOINTS: etcd.endpoint, CNET_ETCD_USERNAME: 'cnet', CNET_ETCD_PASSWORD: 'wrong'}
    const result = await runCli(['network', 'show'], {env})
    expect(result.exitCode).toBe(3)
    expect(result.stderr).toMatch(/--etcd-username\/--etcd-password/)
  })

  it('dns serve workers refused by etcd say which settings to check, as the CLI does, and exit 3', async () => {
    const env = {CNET_ETCD_ENDPOINTS: etcd.endpoint, CNET_ETCD_USERNAME: 'cnet', CNET_ETCD_PASSWORD: 'wrong'}
    const result = await runCli(['dns', 'serve', '--workers', '2', '--listen', `127.0.0.1:${await freePort()}`, '--upstream', '127.0.0.1:9'], {env, timeoutMs: 30_000})
    expect(result.exitCode).toBe(1) // every worker exited before serving
    const refusals = result.stderr.split('\n').filter((line) => line.startsWith('cnet: ') && line.includes('check --etcd-username/--etcd-password (CNET_ETCD_USERNAME, CNET_ETCD_PASSWORD)'))
    expect(refusals.length).toBeGreaterThanOrEqual(2)
    expect(result.stderr).toMatch(/dns worker exited; starting another worker=1 code=3 /)
  }, 60_000)

  it('fails with exit 3 without credentials', async () => {
    const result = await runCli(['network', 'show'], {env: {CNET_ETCD_ENDPOINTS: etcd.endpoint}})
    expect(result.exitCode).toBe(3)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
  })
})
