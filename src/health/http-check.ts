import {Agent as HttpAgent, request as httpRequest} from 'node:http'
import {Agent as HttpsAgent, request as httpsRequest} from 'node:https'
import {formatDuration} from '../lib/duration.js'
import {MAX_OUTPUT_BYTES} from '../svc/output.js'
import {type CheckResult, reason, result, statusOfHttp} from './result.js'

export interface HttpProbe {
  url: string
  method: string
  headers: Record<string, string[]>
  tlsSkipVerify: boolean
  timeoutMs: number
}

/**
 * Connections are kept alive between probes: at thousands of checks a second, a new
 * TCP (and TLS) handshake per probe would be most of the prober's CPU.
 */
const agents = {
  http: new HttpAgent({keepAlive: true, maxFreeSockets: 1024}),
  https: new HttpsAgent({keepAlive: true, maxFreeSockets: 1024}),
  httpsInsecure: new HttpsAgent({keepAlive: true, maxFreeSockets: 1024, rejectUnauthorized: false}),
}

/** Reading stops here: enough for the 4 KB of output, and a huge body cannot stall a check. */
const MAX_BODY_BYTES = 64 * 1024

export function httpCheck(probe: HttpProbe, stop?: AbortSignal): Promise<CheckResult> {
  const what = `HTTP ${probe.method} ${probe.url}`
  const url = new URL(probe.url)
  const secure = url.protocol === 'https:'
  const request = secure ? httpsRequest : httpRequest
  const agent = secure ? (probe.tlsSkipVerify ? agents.httpsInsecure : agents.https) : agents.http
  // An abort that came before the listener would never fire it.
  if (stop?.aborted) return Promise.resolve(result('critical', `${what}: cancelled`))
  return new Promise((resolve) => {
    let settled = false
    const finish = (r: CheckResult) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      stop?.removeEventListener('abort', onStop)
      resolve(r)
    }
    const req = request(url, {method: probe.method, headers: {'user-agent': 'cnet-health', accept: 'text/plain, text/*, */*', ...probe.headers}, agent}, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        if (size < MAX_OUTPUT_BYTES) chunks.push(chunk)
        size += chunk.length
        if (size > MAX_BODY_BYTES) res.destroy()
      })
      const done = () => {
        const code = res.statusCode ?? 0
        const body = Buffer.concat(chunks).toString('utf8').trim()
        finish(result(statusOfHttp(code), `${what}: ${code} ${res.statusMessage ?? ''}`.trimEnd() + (body ? ` Output: ${body}` : '')))
      }
      res.on('end', done)
      res.on('close', done)
      res.on('error', () => {})
    })
    const timer = setTimeout(() => {
      finish(result('critical', `${what}: timed out after ${formatDuration(probe.timeoutMs)}`))
      req.destroy()
    }, probe.timeoutMs)
    const onStop = () => {
      finish(result('critical', `${what}: cancelled`))
      req.destroy()
    }
    stop?.addEventListener('abort', onStop, {once: true})
    req.on('error', (error) => finish(result('critical', `${what}: ${reason(error)}`)))
    req.end()
  })
}
