import {createRequire} from 'node:module'
import http from 'node:http'
import {Gauge, Registry, collectDefaultMetrics} from 'prom-client'
import {CnetError} from './errors.js'
import {type HostPort, formatHostPort} from './listen-address.js'

/**
 * What every cnet daemon exports on `--metrics ADDR`: its own families on a registry
 * made here, plus `cnet_build_info{version}` and prom-client's process and Node.js
 * runtime metrics (process_*, nodejs_*), as CoreDNS exports its build info and Go's.
 */
const require = createRequire(import.meta.url)
export const CNET_VERSION: string = (require('../../package.json') as {version: string}).version

export function createMetricsRegistry(): Registry {
  const registry = new Registry()
  new Gauge({name: 'cnet_build_info', help: 'cnet build information; the value is always 1', labelNames: ['version', 'node_version'], registers: [registry], aggregator: 'first'})
    .labels(CNET_VERSION, process.version)
    .set(1)
  collectDefaultMetrics({register: registry})
  return registry
}

/** Serves GET /metrics from `registry` on `address` until closed. */
export async function serveMetrics(address: HostPort, registry: Registry): Promise<http.Server> {
  const server = http.createServer(async (request, response) => {
    if (request.url !== '/metrics') return void response.writeHead(404, {'content-type': 'text/plain'}).end('only /metrics here\n')
    try {
      const text = await registry.metrics()
      response.writeHead(200, {'content-type': registry.contentType}).end(text)
    } catch (error) {
      response.writeHead(500, {'content-type': 'text/plain'}).end(`${(error as Error).message}\n`)
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new CnetError(`metrics: cannot listen on ${formatHostPort(address)}: ${error.code === 'EADDRINUSE' ? 'address already in use' : (error.code ?? error.message)}`)),
    )
    server.listen(address.port, address.host, () => resolve())
  })
  return server
}

/** Closes a metrics server (idempotent). */
export function closeServer(server: http.Server | undefined): Promise<void> {
  return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()))
}
