import http from 'node:http'

export interface HttpEndpoints {
  health?: {host: string; port: number}
  ready?: {host: string; port: number}
  metrics?: {host: string; port: number}
}

/** Where /metrics text comes from: a prom-client registry, or the workers' metrics added up. */
export interface MetricsSource {
  contentType: string
  metrics(): Promise<string>
}

/** /health, /ready (503 + the reason while not ready) and /metrics, each on its own address. */
export async function startHttpEndpoints(endpoints: HttpEndpoints, readiness: () => string | undefined, metrics: () => Promise<MetricsSource>): Promise<http.Server[]> {
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
        const source = await metrics()
        const text = await source.metrics()
        res.writeHead(200, {'content-type': source.contentType}).end(text)
      } catch (error) {
        res.writeHead(500, {'content-type': 'text/plain'}).end(`${(error as Error).message}\n`)
      }
    })
  return servers
}
