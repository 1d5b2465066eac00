import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer as createHttpServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { tickstorm } from '../helpers/cli.js'
import { freePort } from '../helpers/free-port.js'
import { type RunningPrometheus, startPrometheus } from '../helpers/prometheus.js'

// `tickstorm run --out`: the live metrics pushed to a real Prometheus (Debian's, started here
// with its remote-write receiver and native histograms on) and to an OTLP/HTTP receiver.

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tickstorm-run-out-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const TINY = `name: tiny-out
description: a tiny run whose live metrics go out
target: embedded
server: { preset: normal, seed: 5 }
transports: [sse, ws]
subscribers: { count: 10, rampPerSec: 200, watchList: { size: 8, pick: zipf } }
warmupSec: 1
durationSec: 4
workers: 1
faults:
  - { atSec: 1, kind: drop, fraction: 0.5 }
thresholds: { p99Ms: 5000 }
`

async function scenarioFile(): Promise<string> {
  const path = join(dir, 'tiny-out.yaml')
  await writeFile(path, TINY)
  return path
}

describe('tickstorm run --out: the flag', () => {
  test('a bad value exits 2 naming --out, before any run', async () => {
    const file = await scenarioFile()
    const bad = [
      ['statsd=http://127.0.0.1:1/', '--out takes prometheus-rw=URL or otlp=URL, got "statsd='],
      ['prometheus-rw', '--out prometheus-rw= needs an http or https URL, got ""'],
      ['otlp=ftp://127.0.0.1:4318', '--out otlp= needs an http or https URL, got "ftp://'],
    ]
    for (const [value, said] of bad) {
      const run = tickstorm(['run', file, '--out', value!, '--results', join(dir, 'never')])
      expect(await run.exit, run.stderr()).toBe(2)
      expect(run.stderr()).toContain(said)
    }
    expect(existsSync(join(dir, 'never'))).toBe(false)
    const help = tickstorm(['run', '--help'])
    expect(await help.exit).toBe(0)
    expect(help.stdout()).toContain('--out <kind=url>')
  })
})

describe('tickstorm run --out prometheus-rw=… --out otlp=…', () => {
  let prometheus: RunningPrometheus | undefined
  let otlp: Server | undefined
  const otlpBodies: unknown[] = []
  let otlpUrl = ''

  beforeAll(async () => {
    prometheus = await startPrometheus()
    // The OTLP/HTTP receiver: keeps each JSON body it is sent.
    otlp = createHttpServer((request, response) => {
      const chunks: Buffer[] = []
      request.on('data', (chunk: Buffer) => chunks.push(chunk))
      request.on('end', () => {
        if (request.url === '/v1/metrics' && request.headers['content-type']?.includes('json')) {
          otlpBodies.push(JSON.parse(Buffer.concat(chunks).toString()))
          response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
        } else {
          response.writeHead(415).end()
        }
      })
    })
    await new Promise<void>((resolve) => otlp!.listen(0, '127.0.0.1', resolve))
    otlpUrl = `http://127.0.0.1:${(otlp.address() as AddressInfo).port}/v1/metrics`
  }, 30_000)

  afterAll(async () => {
    await prometheus?.stop()
    await new Promise<void>((resolve) => (otlp ? otlp.close(() => resolve()) : resolve()))
  })

  test('the series come back from Prometheus, the OTLP receiver gets nonzero figures, a dead output only counts', async () => {
    const file = await scenarioFile()
    const promUrl = prometheus!.url
    const query = (promql: string) => prometheus!.query(promql)
    const dead = `http://127.0.0.1:${await freePort()}/api/v1/write`
    const results = join(dir, 'results')
    const run = tickstorm([
      'run',
      file,
      '--results',
      results,
      '--out',
      `prometheus-rw=${promUrl}/api/v1/write`,
      `--out=otlp=${otlpUrl}`,
      '--out',
      `prometheus-rw=${dead}`,
    ])
    const code = await run.exit
    const stderr = run.stderr()
    // 0, or 3 when this shared machine made the harness late (an invalid run): either way the
    // run went to its end, and a failing output never changes the exit code.
    expect([0, 3], `${stderr}\n${run.stdout()}\n${prometheus!.log().slice(-3000)}`).toContain(code)
    const runLabel = /labels run="([^"]+)", scenario="tiny-out"/.exec(stderr)?.[1]
    expect(runLabel, stderr).toBeDefined()
    // The live Prometheus output: every push accepted.
    expect(stderr).toMatch(
      new RegExp(`--out prometheus-rw=${promUrl}/api/v1/write: ([1-9]\\d*) sent, 0 failed`),
    )
    // The dead one: said once as it happened, counted at the end, and the run still passed.
    expect(stderr).toContain(`--out prometheus-rw=${dead}: push failed:`)
    expect(stderr).toMatch(new RegExp(`--out prometheus-rw=${dead}: 0 sent, [1-9]\\d* failed`))
    expect(stderr).toMatch(/--out otlp=\S+: [1-9]\d* sent, 0 failed/)

    const [resultDir] = await readdir(results)
    const result = JSON.parse(await readFile(join(results, resultDir!, 'result.json'), 'utf8'))
    // The label is known at the start, and is the run's own id: query by what result.json says.
    expect(runLabel).toBe(result.runId)
    const selector = (transport: string) =>
      `{run="${runLabel}",scenario="tiny-out",transport="${transport}"}`
    for (const transport of ['sse', 'ws']) {
      const measured = result.transports.find(
        (t: { transport: string }) => t.transport === transport,
      )
      const deliveries = await query(`tickstorm_deliveries_total${selector(transport)}`)
      expect(deliveries.length, transport).toBe(1)
      expect(Number(deliveries[0]!.value[1])).toBeGreaterThan(0)
      // The final flush carries result.json's own count.
      expect(Number(deliveries[0]!.value[1])).toBe(measured.deliveries)
      const connected = await query(`tickstorm_connected_subscribers${selector(transport)}`)
      expect(Number(connected[0]!.value[1])).toBe(measured.subscribers.connectedAtEnd)
      // The drop at 1 s: half the subscribers reconnected.
      const reconnects = await query(`tickstorm_reconnects_total${selector(transport)}`)
      expect(Number(reconnects[0]!.value[1]), transport).toBe(measured.reconnects)
      expect(measured.reconnects, transport).toBeGreaterThanOrEqual(5)
      const errors = await query(`tickstorm_errors_total${selector(transport)}`)
      expect(Number(errors[0]!.value[1]), transport).toBe(measured.errors)
      // histogram_quantile on the native histogram: within one bucket (≈ 9%) of the HDR p99.
      const p99 = await query(
        `histogram_quantile(0.99, tickstorm_latency_seconds${selector(transport)})`,
      )
      const p99Sec = Number(p99[0]!.value[1])
      const hdrP99Sec = measured.latencyUs.p99 / 1e6
      expect(p99Sec, transport).toBeGreaterThan(hdrP99Sec / 1.1)
      expect(p99Sec, transport).toBeLessThan(hdrP99Sec * 1.1)
      const count = await query(`histogram_count(tickstorm_latency_seconds${selector(transport)})`)
      expect(Number(count[0]!.value[1])).toBe(measured.latencyUs.count)
    }

    // The report written beside: server CPU and memory, errors and reconnects, the drop marked.
    const html = await readFile(join(results, resultDir!, 'report.html'), 'utf8')
    for (const id of ['errors', 'server-cpu', 'server-memory']) {
      expect(html).toContain(`id="chart-${id}"`)
    }
    expect(html).toContain('{"x":1,"label":"drop 50 %","color":"#e377c2"}')

    // OTLP: the last body holds both transports' figures, nonzero.
    expect(otlpBodies.length).toBeGreaterThan(0)
    const last = otlpBodies.at(-1) as OtlpBody
    const metrics = new Map(
      last.resourceMetrics[0]!.scopeMetrics[0]!.metrics.map((metric) => [metric.name, metric]),
    )
    const deliveries = metrics.get('tickstorm.deliveries')!.sum!.dataPoints
    const transports = deliveries.map(
      (point) => point.attributes.find((a) => a.key === 'transport')?.value.stringValue,
    )
    expect(transports.sort()).toEqual(['sse', 'ws'])
    for (const point of deliveries) expect(Number(point.asInt)).toBeGreaterThan(0)
    const latency = metrics.get('tickstorm.latency')!.exponentialHistogram!.dataPoints
    for (const point of latency) expect(Number(point.count)).toBeGreaterThan(0)
  }, 90_000)
})

interface OtlpBody {
  resourceMetrics: {
    scopeMetrics: {
      metrics: {
        name: string
        sum?: {
          dataPoints: {
            attributes: { key: string; value: { stringValue?: string } }[]
            asInt?: number | string
          }[]
        }
        exponentialHistogram?: { dataPoints: { count: number | string }[] }
      }[]
    }[]
  }[]
}
