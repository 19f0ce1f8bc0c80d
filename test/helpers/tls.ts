import {execFileSync} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/** A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
export interface TestPki {
  dir: string
  caFile: string
  serverCert: string
  serverKey: string
  clientCert: string
  clientKey: string
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'cnet-pki-'))
  const f = (name: string) => join(dir, name)
  const openssl = (...args: string[]) => execFileSync('openssl', args, {stdio: 'pipe'})
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=cnet-test-ca', '-keyout', f('ca.key'), '-out', f('ca.crt'))
  const issue = (name: string, cn: string, extensions: string) => {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`))
    const ext = f(`${name}.ext`)
    execFileSync('sh', ['-c', 'cat > "$1"', 'sh', ext], {input: extensions})
    openssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', f(`${name}.crt`))
  }
  issue('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n')
  issue('client', 'cnet-client', 'extendedKeyUsage=clientAuth\n')
  return {dir, caFile: f('ca.crt'), serverCert: f('server.crt'), serverKey: f('server.key'), clientCert: f('client.crt'), clientKey: f('client.key')}
}
