import http from 'node:http'
import type {Registry} from 'prom-client'

export interface HttpEndpoints {
  health?: {host: string; port: number}
  ready?: {host: string; port: number}
  metrics?: {host: string; port: number}
}

/** /health, /ready (503 + the reason while not ready) and /metrics, each on its own address. */
export async function startHttpEndpoints(endpoints: HttpEndpoints, readiness: () => string | undefined, metrics: () => Promise<{registry: Registry}>): Promise<http.Server[]> {
  const servers: http.Server[] = []
  const start = async (address: {host: string; port: number}, handler: http.RequestListener) => {
    const server = http.createServer(handler)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(address.port, address.host, () => resolve())
    })
    servers.push(server)
  }
  if (endpoints.health) await start(endpoints.health, (_req, res) => res.writeHead(200, {'content-type': 'text/plain'}).end('OK\n'))
  if (endpoints.ready)
    await start(endpoints.ready, (_req, res) => {
      const reason = readiness()
      res.writeHead(reason ? 503 : 200, {'content-type': 'text/plain'}).end(reason ? `${reason}\n` : 'OK\n')
    })
  if (endpoints.metrics)
    await start(endpoints.metrics, async (_req, res) => {
      try {
        const {registry} = await metrics()
        const text = await registry.metrics()
        res.writeHead(200, {'content-type': registry.contentType}).end(text)
      } catch (error) {
        res.writeHead(500, {'content-type': 'text/plain'}).end(`${(error as Error).message}\n`)
      }
    })
  return servers
}
