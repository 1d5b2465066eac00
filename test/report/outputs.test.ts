import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Histogram, JsHistogram } from 'hdr-histogram-js'
import { uncompress } from 'snappy'
import { afterEach, describe, expect, test } from 'vitest'
import {
  emptyCounters,
  emptyHistogram,
  type MetricCounters,
} from '../../src/report/measurements.js'
import { createLiveOutputs, finalFigures } from '../../src/report/outputs/live-outputs.js'
import {
  figuresOfProgress,
  type LiveProgressView,
  type TransportFigures,
} from '../../src/report/outputs/metrics-snapshot.js'
import {
  bucketIndexOf,
  denseBucketsOf,
  exponentialBucketsOf,
  spansAndDeltasOf,
} from '../../src/report/outputs/native-histogram.js'
import {
  REMOTE_WRITE_HEADERS,
  remoteWriteBody,
} from '../../src/report/outputs/prometheus-remote-write.js'
import { WriteRequest } from '../../src/report/outputs/prompb.js'
import { createPushQueue } from '../../src/report/outputs/push-queue.js'
import { waitFor } from '../helpers/wait.js'

const RUN = { scenario: 'tiny', run: 'run-1' }

function histogramOf(valuesUs: readonly number[]): Histogram {
  const histogram = emptyHistogram()
  for (const value of valuesUs) histogram.recordValue(value)
  return histogram
}

function progressOf(
  valuesUs: readonly number[],
  counters: Partial<MetricCounters> = {},
  connected = 7,
): LiveProgressView {
  return {
    transport: 'sse',
    connected,
    live: {
      measuring: true,
      startMs: 1_700_000_000_000,
      latencyUs: histogramOf(valuesUs),
      connectTimeUs: histogramOf([1500, 2500]),
      recoveryUs: histogramOf([]),
      counters: { ...emptyCounters(), ...counters },
    },
    harness: { eventLoopDelayP99Us: 12_000 },
  }
}

describe('native histogram buckets', () => {
  test('powers of two are bucket bounds; other values go to ceil(8·log2 v)', () => {
    expect(bucketIndexOf(1)).toBe(0)
    expect(bucketIndexOf(2)).toBe(8)
    expect(bucketIndexOf(0.5)).toBe(-8)
    expect(bucketIndexOf(1.0000001)).toBe(1)
    expect(bucketIndexOf(2 ** -20)).toBe(-160)
    // Away from a bound, the logarithm gives the same index.
    for (const value of [0.000_123, 0.0017, 0.042, 0.3, 7.7, 123.4]) {
      expect(bucketIndexOf(value), String(value)).toBe(Math.ceil(Math.log2(value) * 8))
    }
    expect(() => bucketIndexOf(0)).toThrow(RangeError)
  })

  test('every HDR count lands in one bucket, on the grid of its value in seconds', () => {
    const values = [1, 1, 2, 3, 999, 1000, 1000, 1024, 1900, 40_000, 250_000]
    const buckets = exponentialBucketsOf(histogramOf(values), 1e-6)
    expect(buckets.count).toBe(values.length)
    expect(buckets.zeroCount).toBe(0)
    expect(buckets.buckets.reduce((sum, b) => sum + b.count, 0)).toBe(values.length)
    // Below 2048 µs an HDR bucket is one µs: the placement is exact.
    const expected = new Map<number, number>()
    for (const value of values.filter((v) => v < 2048)) {
      const index = bucketIndexOf(value * 1e-6)
      expected.set(index, (expected.get(index) ?? 0) + 1)
    }
    for (const [index, count] of expected) {
      expect(buckets.buckets.find((b) => b.index === index)?.count, `bucket ${index}`).toBe(count)
    }
    expect(buckets.buckets.map((b) => b.index)).toEqual(
      [...buckets.buckets.map((b) => b.index)].sort((a, b) => a - b),
    )
    expect(buckets.min).toBeCloseTo(1e-6, 12)
    expect(buckets.max).toBeGreaterThanOrEqual(0.25)
    expect(buckets.max).toBeLessThan(0.2505)
    expect(buckets.sum).toBeCloseTo(values.reduce((a, b) => a + b, 0) * 1e-6, 3)
  })

  test('a wide histogram: each bucket as placing every value by itself would fill it', () => {
    const values = Array.from({ length: 20_000 }, (_, i) => 1 + ((i * 7919) % 3_000_000))
    const histogram = histogramOf(values)
    if (!(histogram instanceof JsHistogram)) throw new Error('a JS histogram')
    const buckets = exponentialBucketsOf(histogram, 1e-6)
    const expected = new Map<number, number>()
    for (const value of values) {
      // HDR's percentiles read a value as its range's highest equivalent value: so do the buckets.
      const index = bucketIndexOf(histogram.highestEquivalentValue(value) * 1e-6)
      expected.set(index, (expected.get(index) ?? 0) + 1)
    }
    expect(new Map(buckets.buckets.map((b) => [b.index, b.count]))).toEqual(expected)
    expect(buckets.count).toBe(20_000)
    // The sum is HDR's mean × count, computed in the same walk.
    expect(buckets.sum).toBeCloseTo(histogram.mean * 20_000 * 1e-6, 6)
  })

  test('sparse spans with deltas, and the dense form one index lower', () => {
    const buckets = [
      { index: 1, count: 2 },
      { index: 2, count: 5 },
      { index: 5, count: 1 },
    ]
    expect(spansAndDeltasOf(buckets)).toEqual({
      spans: [
        { offset: 1, length: 2 },
        { offset: 2, length: 1 },
      ],
      deltas: [2, 3, -4],
    })
    expect(denseBucketsOf(buckets)).toEqual({ offset: 0, bucketCounts: [2, 5, 0, 0, 1] })
    expect(denseBucketsOf([])).toEqual({ offset: 0, bucketCounts: [] })
  })
})

describe('remote write body', () => {
  test('a snappy WriteRequest: sorted labels, counters, gauges and integer native histograms', async () => {
    const figures = figuresOfProgress(
      progressOf([800, 900, 1000, 5000], { deliveries: 4, errors: 1, reconnects: 2, gaps: 3 }),
    )!
    const body = await remoteWriteBody({ timeMs: 1_700_000_001_000, transports: [figures] }, RUN)
    const decoded = WriteRequest.toObject(
      WriteRequest.decode((await uncompress(Buffer.from(body), { asBuffer: true })) as Buffer),
      { longs: Number, defaults: true },
    ) as {
      timeseries: {
        labels: { name: string; value: string }[]
        samples: { value: number; timestamp: number }[]
        histograms: {
          count_int: number
          schema: number
          positive_spans: { offset: number; length: number }[]
          positive_deltas: number[]
          timestamp: number
        }[]
      }[]
      metadata: { metric_family_name: string; type: number }[]
    }
    const byName = new Map(
      decoded.timeseries.map((series) => [series.labels[0]!.value, series] as const),
    )
    for (const series of decoded.timeseries) {
      const names = series.labels.map((label) => label.name)
      expect(names).toEqual(['__name__', 'run', 'scenario', 'transport'])
      expect(series.labels.slice(1).map((label) => label.value)).toEqual(['run-1', 'tiny', 'sse'])
    }
    const value = (name: string) => byName.get(name)?.samples[0]?.value
    expect(value('tickstorm_deliveries_total')).toBe(4)
    expect(value('tickstorm_errors_total')).toBe(1)
    expect(value('tickstorm_reconnects_total')).toBe(2)
    expect(value('tickstorm_lost_total')).toBe(3)
    expect(value('tickstorm_connected_subscribers')).toBe(7)
    expect(value('tickstorm_harness_event_loop_delay_p99_seconds')).toBeCloseTo(0.012, 9)
    expect(byName.get('tickstorm_deliveries_total')?.samples[0]?.timestamp).toBe(1_700_000_001_000)
    const latency = byName.get('tickstorm_latency_seconds')!.histograms[0]!
    expect(latency.count_int).toBe(4)
    expect(latency.schema).toBe(3)
    // The deltas add back up to each bucket's count, and the counts to the total.
    let running = 0
    const counts = latency.positive_deltas.map((delta) => {
      running += delta
      return running
    })
    expect(counts.reduce((a, b) => a + b, 0)).toBe(4)
    expect(latency.positive_spans.reduce((n, span) => n + span.length, 0)).toBe(counts.length)
    expect(latency.positive_spans[0]!.offset).toBe(bucketIndexOf(800e-6))
    expect(decoded.metadata.map((m) => m.metric_family_name)).toContain('tickstorm_latency_seconds')
    expect(REMOTE_WRITE_HEADERS['Content-Encoding']).toBe('snappy')
  })
})

describe('push queue', () => {
  test('one send at a time, in order; a full queue drops the oldest waiting; failures counted', async () => {
    const started: number[] = []
    const pending: { resolve: () => void; reject: (error: Error) => void }[] = []
    const failures: string[] = []
    const queue = createPushQueue<number>(
      (item) =>
        new Promise<void>((resolve, reject) => {
          started.push(item)
          pending.push({ resolve, reject })
        }),
      { capacity: 2, onFirstFailure: (message) => failures.push(message) },
    )
    for (const item of [1, 2, 3, 4]) queue.offer(item)
    expect(started).toEqual([1])
    pending.shift()!.reject(new Error('HTTP 500: nope'))
    await waitFor('the next send', () => started.length === 2)
    // 2 was dropped for 4 (capacity 2: 3 and 4 wait).
    expect(started).toEqual([1, 3])
    pending.shift()!.reject(new Error('HTTP 503'))
    await waitFor('the last send', () => started.length === 3)
    pending.shift()!.resolve()
    const stats = await queue.drain(1000)
    expect(started).toEqual([1, 3, 4])
    expect(stats).toEqual({ sent: 1, failed: 2, dropped: 1, abandoned: 0, lastError: 'HTTP 503' })
    expect(failures).toEqual(['HTTP 500: nope'])
    queue.offer(5)
    expect(started).toEqual([1, 3, 4])
  })

  test('the drain gives up at its deadline and says what it abandoned', async () => {
    const queue = createPushQueue<number>(() => new Promise<void>(() => {}))
    queue.offer(1)
    queue.offer(2)
    const startedMs = Date.now()
    const stats = await queue.drain(100)
    expect(Date.now() - startedMs).toBeLessThan(2000)
    expect(stats).toMatchObject({ sent: 0, failed: 0, abandoned: 2 })
  })
})

describe('final flush figures', () => {
  const live = figuresOfProgress(progressOf([1000, 2000], { deliveries: 2 }))!
  const more: TransportFigures = figuresOfProgress(
    progressOf([1000, 2000, 3000], { deliveries: 3 }),
  )!
  test("the result's figures when they continue the live ones, else the last live ones", () => {
    const last = new Map([['sse' as const, live]])
    const result = (figures: TransportFigures) => ({ timeMs: 0, transports: [figures] })
    const settled = finalFigures(last, result({ ...more, startMs: 5 }))
    expect(settled[0]!.deliveries).toBe(3)
    expect(settled[0]!.startMs).toBe(live.startMs)
    // Fewer deliveries, or a latency bucket lower than before: the live figures stay.
    expect(finalFigures(last, result({ ...more, deliveries: 1 }))[0]).toBe(live)
    const fewer = figuresOfProgress(progressOf([1000, 3000, 3000], { deliveries: 3 }))!
    expect(finalFigures(last, result(fewer))[0]).toBe(live)
    expect(finalFigures(last, null)[0]).toBe(live)
  })
})

describe('live outputs', () => {
  let server: Server | undefined
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
    server = undefined
  })

  /** A receiver on 127.0.0.1 that keeps each request (path, headers, body), answering `status`. */
  async function receiver(status: number) {
    const requests: { url: string; headers: IncomingMessage['headers']; body: Buffer }[] = []
    server = createServer((request, response) => {
      const chunks: Buffer[] = []
      request.on('data', (chunk: Buffer) => chunks.push(chunk))
      request.on('end', () => {
        requests.push({
          url: request.url ?? '',
          headers: request.headers,
          body: Buffer.concat(chunks),
        })
        response.writeHead(status, { 'content-type': 'application/json' }).end('{}')
      })
    })
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    return { requests, url: `http://127.0.0.1:${port}` }
  }

  test('OTLP/HTTP: counters, gauges and exponential histograms with their attributes', async () => {
    const { requests, url } = await receiver(200)
    const outputs = createLiveOutputs([{ kind: 'otlp', url: `${url}/v1/metrics` }], RUN, {
      version: '9.9.9',
    })
    outputs.onProgress(progressOf([900, 1000, 1100], { deliveries: 3, reconnects: 1 }))
    outputs.onProgress(progressOf([900, 1000, 1100, 40_000], { deliveries: 4, reconnects: 1 }))
    // A report without a live window sends nothing.
    outputs.onProgress({ transport: 'ws', connected: 3 })
    const [outcome] = await outputs.finish(null, 5000)
    expect(outcome).toMatchObject({ failed: 0, abandoned: 0 })
    expect(outcome!.sent).toBeGreaterThanOrEqual(2)
    expect(requests.length).toBe(outcome!.sent)
    const last = requests.at(-1)!
    expect(last.url).toBe('/v1/metrics')
    expect(last.headers['content-type']).toContain('application/json')
    const body = JSON.parse(last.body.toString()) as {
      resourceMetrics: {
        resource: { attributes: { key: string; value: { stringValue?: string } }[] }
        scopeMetrics: { metrics: OtlpMetric[] }[]
      }[]
    }
    const resource = body.resourceMetrics[0]!
    expect(resource.resource.attributes).toContainEqual({
      key: 'service.name',
      value: { stringValue: 'tickstorm' },
    })
    const metrics = new Map(resource.scopeMetrics[0]!.metrics.map((m) => [m.name, m]))
    const deliveries = metrics.get('tickstorm.deliveries')!.sum!
    expect(deliveries.isMonotonic).toBe(true)
    expect(Number(deliveries.dataPoints[0]!.asInt)).toBe(4)
    expect(deliveries.dataPoints[0]!.attributes).toEqual(
      expect.arrayContaining([
        { key: 'transport', value: { stringValue: 'sse' } },
        { key: 'scenario', value: { stringValue: 'tiny' } },
        { key: 'run', value: { stringValue: 'run-1' } },
      ]),
    )
    expect(Number(metrics.get('tickstorm.reconnects')!.sum!.dataPoints[0]!.asInt)).toBe(1)
    expect(metrics.get('tickstorm.connected_subscribers')!.gauge!.dataPoints[0]!.asDouble).toBe(7)
    const latency = metrics.get('tickstorm.latency')!
    expect(latency.unit).toBe('s')
    const point = latency.exponentialHistogram!.dataPoints[0]!
    expect(Number(point.count)).toBe(4)
    expect(point.scale).toBe(3)
    const counts = point.positive.bucketCounts.map(Number)
    expect(counts.reduce((a, b) => a + b, 0)).toBe(4)
    // OpenTelemetry's index is Prometheus' minus one: 900 µs is in Prometheus' bucket of 900e-6.
    expect(point.positive.offset ?? 0).toBe(bucketIndexOf(900e-6) - 1)
    expect(point.max).toBeGreaterThan(0.039)
  })

  test("an OTLP receiver that refuses: the exporter's error is counted, finish resolves", async () => {
    const { requests, url } = await receiver(400)
    const said: string[] = []
    const outputs = createLiveOutputs([{ kind: 'otlp', url }], RUN, {
      version: '0',
      timeoutMs: 2000,
      onFailure: (target, message) => said.push(`${target.kind} ${message}`),
    })
    outputs.onProgress(progressOf([1000], { deliveries: 1 }))
    const [outcome] = await outputs.finish(null, 5000)
    expect(requests.length).toBeGreaterThanOrEqual(1)
    expect(outcome).toMatchObject({ sent: 0, abandoned: 0 })
    expect(outcome!.failed).toBe(2)
    expect(said).toHaveLength(1)
    expect(said[0]).toMatch(/^otlp .*400/)
  })

  test('a receiver that refuses: said once, counted, and finish still resolves', async () => {
    const { requests, url } = await receiver(500)
    const said: string[] = []
    const outputs = createLiveOutputs([{ kind: 'prometheus-rw', url }], RUN, {
      version: '0',
      onFailure: (target, message) => said.push(`${target.kind} ${message}`),
    })
    outputs.onProgress(progressOf([1000], { deliveries: 1 }))
    await waitFor('the first push', () => requests.length === 1)
    expect(requests[0]!.headers['content-encoding']).toBe('snappy')
    expect(requests[0]!.headers['x-prometheus-remote-write-version']).toBe('0.1.0')
    outputs.onProgress(progressOf([1000, 2000], { deliveries: 2 }))
    const [outcome] = await outputs.finish(null, 5000)
    expect(outcome!.sent).toBe(0)
    expect(outcome!.failed).toBeGreaterThanOrEqual(2)
    expect(outcome!.lastError).toBe('HTTP 500: {}')
    expect(said).toEqual(['prometheus-rw HTTP 500: {}'])
  })
})

describe('an unreachable receiver', () => {
  test('the failure names its cause, not just "fetch failed"', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const { port } = probe.address() as AddressInfo
    await new Promise<void>((resolve) => probe.close(() => resolve()))
    const outputs = createLiveOutputs(
      [{ kind: 'prometheus-rw', url: `http://127.0.0.1:${port}/api/v1/write` }],
      RUN,
      { version: '0' },
    )
    outputs.onProgress(progressOf([1000], { deliveries: 1 }))
    const [outcome] = await outputs.finish(null, 5000)
    expect(outcome).toMatchObject({ sent: 0, failed: 2 })
    expect(outcome!.lastError).toMatch(/ECONNREFUSED/)
  })
})

interface OtlpPoint {
  attributes: { key: string; value: { stringValue?: string } }[]
  asInt?: number | string
  asDouble?: number
}

interface OtlpMetric {
  name: string
  unit: string
  sum?: { isMonotonic: boolean; dataPoints: OtlpPoint[] }
  gauge?: { dataPoints: OtlpPoint[] }
  exponentialHistogram?: {
    dataPoints: {
      count: number | string
      scale: number
      max: number
      positive: { offset?: number; bucketCounts: (number | string)[] }
    }[]
  }
}
