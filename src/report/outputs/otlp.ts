/**
 * `--out otlp=URL`: the run's figures to an OpenTelemetry collector over OTLP/HTTP (JSON, POST to
 * e.g. http://127.0.0.1:4318/v1/metrics), latency, connect time and recovery as exponential
 * histograms on the same grid as Prometheus' native histograms (scale 3).
 *
 * Why not the SDK's instruments: a MeterProvider's Histogram takes one value per `record` call
 * and aggregates it itself. The harness already holds exact HDR histograms of millions of values,
 * merged across threads; replaying each value into an instrument would cost a call per delivery
 * and re-bucket what is already bucketed. The OpenTelemetry specification's way in for
 * pre-aggregated data is a MetricProducer, whose product is the SDK's own `ResourceMetrics`; we
 * build that same structure (cumulative sums, gauges, exponential histograms) and hand it to the
 * SDK's OTLPMetricExporter, which serializes it with its transformer and sends it (with its
 * timeout and retries). So the bytes on the wire are the SDK's, only the aggregation is ours.
 */

import type { Attributes, HrTime } from '@opentelemetry/api'
import { ValueType } from '@opentelemetry/api'
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  AggregationTemporality,
  DataPointType,
  type ExponentialHistogramMetricData,
  type GaugeMetricData,
  type MetricData,
  type ResourceMetrics,
  type SumMetricData,
} from '@opentelemetry/sdk-metrics'
import type { MetricsSnapshot, TransportFigures } from './metrics-snapshot.js'
import { denseBucketsOf, type ExponentialBuckets } from './native-histogram.js'
import type { RunLabels } from './prometheus-remote-write.js'

/** Wall ms → OpenTelemetry's [seconds, nanoseconds]. */
function hrTimeOf(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000)
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)]
}

type Counter = 'deliveries' | 'errors' | 'reconnects' | 'connects' | 'lost' | 'bytes'

const COUNTERS: readonly (readonly [Counter, string, string, string])[] = [
  ['deliveries', 'tickstorm.deliveries', '{event}', 'Events delivered to subscribers.'],
  ['errors', 'tickstorm.errors', '{session}', 'Subscriber sessions that ended in an error.'],
  ['reconnects', 'tickstorm.reconnects', '{reconnect}', 'Reconnections begun.'],
  ['connects', 'tickstorm.connects', '{connect}', 'Successful connects, first and re-connects.'],
  ['lost', 'tickstorm.lost', '{event}', 'Events missing that never came.'],
  ['bytes', 'tickstorm.received_bytes', 'By', 'Bytes received, framing included.'],
]

type Timing = 'latency' | 'connectTime' | 'recovery'

const HISTOGRAMS: readonly (readonly [Timing, string, string])[] = [
  ['latency', 'tickstorm.latency', 'Scheduled time of an event to its receipt.'],
  ['connectTime', 'tickstorm.connect_time', 'Connect to the stream answering.'],
  ['recovery', 'tickstorm.recovery', 'Drop to the first resumed event.'],
]

/** The snapshot as the SDK's export structure: one data point per transport in each metric. */
export function resourceMetricsOf(
  snapshot: MetricsSnapshot,
  run: RunLabels,
  version: string,
): ResourceMetrics {
  const endTime = hrTimeOf(snapshot.timeMs)
  const points = <T>(value: (figures: TransportFigures) => T | null) =>
    snapshot.transports.flatMap((figures) => {
      const v = value(figures)
      return v === null
        ? []
        : [
            {
              startTime: hrTimeOf(figures.startMs),
              endTime,
              attributes: attributes(figures, run),
              value: v,
            },
          ]
    })
  const metrics: MetricData[] = []
  for (const [key, name, unit, description] of COUNTERS) {
    const sum: SumMetricData = {
      descriptor: { name, description, unit, valueType: ValueType.INT },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
      dataPoints: points((figures) => figures[key]),
    }
    metrics.push(sum)
  }
  const gauge = (
    name: string,
    unit: string,
    description: string,
    value: (figures: TransportFigures) => number | null,
  ): GaugeMetricData => ({
    descriptor: { name, description, unit, valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: points(value),
  })
  metrics.push(
    gauge(
      'tickstorm.connected_subscribers',
      '{subscriber}',
      'Subscribers connected now.',
      (f) => f.connectedSubscribers,
    ),
    gauge(
      'tickstorm.harness.event_loop_delay.p99',
      's',
      "The harness's event-loop delay p99 over the last second (worst thread).",
      (f) => f.eventLoopDelayP99Sec,
    ),
    gauge('tickstorm.measuring', '1', '1 once the measurement window began.', (f) =>
      f.measuring ? 1 : 0,
    ),
  )
  for (const [key, name, description] of HISTOGRAMS) {
    const histogram: ExponentialHistogramMetricData = {
      descriptor: { name, description, unit: 's', valueType: ValueType.DOUBLE },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
      dataPoints: points((figures) => exponentialHistogramOf(figures[key])),
    }
    metrics.push(histogram)
  }
  return {
    resource: resourceFromAttributes({ 'service.name': 'tickstorm', 'service.version': version }),
    scopeMetrics: [{ scope: { name: 'tickstorm', version }, metrics }],
  }
}

/** The same names as the Prometheus labels, so one query language's habits carry over. */
function attributes(figures: TransportFigures, run: RunLabels): Attributes {
  return { transport: figures.transport, scenario: run.scenario, run: run.run }
}

/** OpenTelemetry's exponential histogram point: the same buckets, its index one lower. */
export function exponentialHistogramOf(buckets: ExponentialBuckets) {
  return {
    count: buckets.count,
    sum: buckets.sum,
    scale: buckets.schema,
    zeroCount: buckets.zeroCount,
    positive: denseBucketsOf(buckets.buckets),
    negative: { offset: 0, bucketCounts: [] },
    min: buckets.min,
    max: buckets.max,
  }
}

/** An exporter for one URL and a send that settles with its outcome. */
export function createOtlpSender(
  url: string,
  timeoutMs: number,
): {
  send(resourceMetrics: ResourceMetrics): Promise<void>
  shutdown(): Promise<void>
} {
  const exporter = new OTLPMetricExporter({ url, timeoutMillis: timeoutMs })
  return {
    send: (resourceMetrics) =>
      new Promise((resolve, reject) => {
        exporter.export(resourceMetrics, (result) => {
          // ExportResultCode.SUCCESS is 0.
          if (result.code === 0) resolve()
          else reject(new Error(otlpFailure(result.error), { cause: result.error }))
        })
      }),
    shutdown: () => exporter.shutdown(),
  }
}

/**
 * The exporter's error in the words the remote-write output uses: its OTLPExporterError carries
 * the HTTP status in `code` and says only the status text ("Bad Request") in its message.
 */
function otlpFailure(error: Error | undefined): string {
  if (error === undefined) return 'the OTLP export failed'
  const status = (error as Error & { code?: unknown }).code
  return typeof status === 'number' ? `HTTP ${status}: ${error.message}` : error.message
}
