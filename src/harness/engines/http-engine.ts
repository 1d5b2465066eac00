import autocannon from 'autocannon'
import { createTransportMetrics, type WorkerReport } from '../transport-metrics.js'

export interface HttpLoadOptions {
  readonly baseUrl: string
  /** The request paths, each loaded in turn on every connection (the target's `http` paths, filled in). */
  readonly paths: readonly string[]
  /** Concurrent keep-alive connections (the scenario's subscriber count). */
  readonly connections: number
  readonly warmupSec: number
  readonly durationSec: number
  /** Request headers (the target's credentials). */
  readonly headers: Readonly<Record<string, string>>
}

/**
 * A target's request/response endpoints (tickstorm's `/v1/snapshot`, `/v1/symbols`) under autocannon, which builds
 * its request bytes once and runs closed-loop connections. Every response's time goes into the
 * same HDR metrics as the streaming transports (as a latency in µs), so one result holds both;
 * this is service time under a closed loop, not push latency, and is labelled `http`.
 */
export async function runHttpLoad(
  options: HttpLoadOptions,
): Promise<{ report: WorkerReport; measureStartMs: number }> {
  const requests = options.paths.map((path) => ({ path }))
  const base = {
    url: options.baseUrl,
    connections: options.connections,
    requests,
    headers: { ...options.headers },
  }
  if (options.warmupSec > 0) await autocannon({ ...base, duration: options.warmupSec })
  const measureStartMs = Date.now()
  const metrics = createTransportMetrics('http', { nowMs: measureStartMs, intervalMs: 1000 })
  let finish: (error: Error | null) => void = () => {}
  const done = new Promise<void>((resolve, reject) => {
    finish = (error) => (error ? reject(error) : resolve())
  })
  const instance = autocannon({ ...base, duration: options.durationSec }, (error) => finish(error))
  instance.on(
    'response',
    (_client: unknown, statusCode: number, resBytes: number, responseTime: number) => {
      metrics.addBytes(resBytes)
      if (statusCode >= 200 && statusCode < 300)
        metrics.recordLatencyUs(Math.round(responseTime * 1000))
      else metrics.countError(`http-${statusCode}`)
    },
  )
  instance.on('reqError', (error: NodeJS.ErrnoException) =>
    metrics.countError(error.code ?? 'request-error'),
  )
  let connections = 0
  instance.on('tick', () => {
    // autocannon keeps its connections open for the whole run: the gauge is the count.
    while (connections < options.connections) {
      metrics.connectionOpened()
      connections++
    }
    metrics.rollInterval(Date.now())
  })
  await done
  metrics.rollInterval(Date.now())
  const report = metrics.toWorkerReport()
  metrics.destroy()
  return { report, measureStartMs }
}
