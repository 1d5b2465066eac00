/**
 * `--out prometheus-rw=URL`: the run's figures pushed by Prometheus remote write 1.0 (a
 * snappy-compressed protobuf WriteRequest POSTed with the protocol's headers), the latency,
 * connect time and recovery as native histograms, so PromQL's histogram_quantile reads any
 * percentile exactly as the buckets allow instead of from a handful of fixed `le` buckets.
 *
 * The receiver must accept native histograms: Prometheus ≥ 2.40 started with
 * `--web.enable-remote-write-receiver --enable-feature=native-histograms` (without the feature it
 * refuses the whole request), Mimir, Thanos Receive or VictoriaMetrics.
 */

import { compress } from 'snappy'
import type { MetricsSnapshot, TransportFigures } from './metrics-snapshot.js'
import type { ExponentialBuckets } from './native-histogram.js'
import { spansAndDeltasOf } from './native-histogram.js'
import {
  encodeWriteRequest,
  METRIC_TYPE,
  type PromHistogram,
  type PromLabel,
  type PromMetadata,
  type PromTimeSeries,
} from './prompb.js'

/** The labels every series carries besides the transport. */
export interface RunLabels {
  readonly scenario: string
  /** The `run` label: one run's series apart from another's of the same scenario. */
  readonly run: string
}

/** The protocol's headers (remote write 1.0 specification, "Protocol"). */
export const REMOTE_WRITE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
  'User-Agent': 'tickstorm',
})

type Counter = 'deliveries' | 'errors' | 'reconnects' | 'connects' | 'lost' | 'bytes'

/** Counters: figure → metric name and help. */
const COUNTERS: readonly (readonly [Counter, string, string])[] = [
  ['deliveries', 'tickstorm_deliveries_total', 'Events delivered to subscribers.'],
  ['errors', 'tickstorm_errors_total', 'Subscriber sessions that ended in an error.'],
  ['reconnects', 'tickstorm_reconnects_total', 'Reconnections begun.'],
  ['connects', 'tickstorm_connects_total', 'Successful connects, first and re-connects.'],
  ['lost', 'tickstorm_lost_total', 'Events missing that never came.'],
  ['bytes', 'tickstorm_received_bytes_total', 'Bytes received, framing included.'],
]

type Timing = 'latency' | 'connectTime' | 'recovery'

const HISTOGRAMS: readonly (readonly [Timing, string, string])[] = [
  ['latency', 'tickstorm_latency_seconds', 'Scheduled time of an event to its receipt.'],
  ['connectTime', 'tickstorm_connect_time_seconds', 'Connect to the stream answering.'],
  ['recovery', 'tickstorm_recovery_seconds', 'Drop to the first resumed event.'],
]

const GAUGES = {
  connected: ['tickstorm_connected_subscribers', 'Subscribers connected now.'],
  eventLoop: [
    'tickstorm_harness_event_loop_delay_p99_seconds',
    "The harness's event-loop delay p99 over the last second (worst thread).",
  ],
  measuring: ['tickstorm_measuring', '1 once the measurement window began, 0 in ramp and warm-up.'],
} as const

/** The metadata Prometheus keeps for the metric names (type, help, unit). */
function metadata(): PromMetadata[] {
  return [
    ...COUNTERS.map(([, name, help]) => meta(METRIC_TYPE.COUNTER, name, help, '')),
    ...HISTOGRAMS.map(([, name, help]) => meta(METRIC_TYPE.HISTOGRAM, name, help, 'seconds')),
    meta(METRIC_TYPE.GAUGE, GAUGES.connected[0], GAUGES.connected[1], ''),
    meta(METRIC_TYPE.GAUGE, GAUGES.eventLoop[0], GAUGES.eventLoop[1], 'seconds'),
    meta(METRIC_TYPE.GAUGE, GAUGES.measuring[0], GAUGES.measuring[1], ''),
  ]
}

function meta(type: PromMetadata['type'], name: string, help: string, unit: string): PromMetadata {
  return { type, metric_family_name: name, help, unit }
}

/** The time series of one snapshot: per transport, every counter, gauge and histogram. */
export function timeSeriesOf(snapshot: MetricsSnapshot, run: RunLabels): PromTimeSeries[] {
  const series: PromTimeSeries[] = []
  const timestamp = Math.round(snapshot.timeMs)
  for (const figures of snapshot.transports) {
    const labelsOf = (name: string): PromLabel[] => labels(name, figures, run)
    const sample = (name: string, value: number): void => {
      series.push({ labels: labelsOf(name), samples: [{ value, timestamp }] })
    }
    for (const [key, name] of COUNTERS) sample(name, figures[key])
    sample(GAUGES.connected[0], figures.connectedSubscribers)
    if (figures.eventLoopDelayP99Sec !== null)
      sample(GAUGES.eventLoop[0], figures.eventLoopDelayP99Sec)
    sample(GAUGES.measuring[0], figures.measuring ? 1 : 0)
    for (const [key, name] of HISTOGRAMS) {
      series.push({
        labels: labelsOf(name),
        histograms: [nativeHistogramOf(figures[key], timestamp)],
      })
    }
  }
  return series
}

/** Sorted by name, as the protocol asks (`__name__` sorts first). */
function labels(name: string, figures: TransportFigures, run: RunLabels): PromLabel[] {
  return [
    { name: '__name__', value: name },
    { name: 'run', value: run.run },
    { name: 'scenario', value: run.scenario },
    { name: 'transport', value: figures.transport },
  ]
}

/** An integer native histogram: spans and delta-encoded counts of the positive buckets. */
export function nativeHistogramOf(buckets: ExponentialBuckets, timestamp: number): PromHistogram {
  const { spans, deltas } = spansAndDeltasOf(buckets.buckets)
  return {
    count_int: buckets.count,
    sum: buckets.sum,
    schema: buckets.schema,
    zero_threshold: buckets.zeroThreshold,
    zero_count_int: buckets.zeroCount,
    positive_spans: spans,
    positive_deltas: deltas,
    reset_hint: 0,
    timestamp,
  }
}

/** The request body: the WriteRequest's protobuf, snappy block-compressed (not framed). */
export async function remoteWriteBody(
  snapshot: MetricsSnapshot,
  run: RunLabels,
): Promise<Uint8Array> {
  return compress(encodeWriteRequest(timeSeriesOf(snapshot, run), metadata()))
}

/** POSTs one snapshot; rejects with what the receiver said when it does not answer 2xx. */
export async function pushRemoteWrite(
  url: string,
  snapshot: MetricsSnapshot,
  run: RunLabels,
  timeoutMs: number,
): Promise<void> {
  const body = await remoteWriteBody(snapshot, run)
  let response: Response
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: REMOTE_WRITE_HEADERS,
      body,
      signal: AbortSignal.timeout(timeoutMs),
    })
  } catch (error) {
    throw new Error(fetchFailure(error, timeoutMs), { cause: error })
  }
  if (response.ok) {
    await response.body?.cancel()
    return
  }
  const text = (await response.text()).trim().slice(0, 300)
  throw new Error(`HTTP ${response.status}${text === '' ? '' : `: ${text}`}`)
}

/**
 * What went wrong with a request that got no answer, in words: undici says only "fetch failed"
 * and keeps the reason (ECONNREFUSED, a DNS failure) in its cause.
 */
function fetchFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${timeoutMs} ms`
  }
  const cause = error instanceof Error ? error.cause : undefined
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code
    return code !== undefined && !cause.message.includes(code)
      ? `${code}: ${cause.message}`
      : cause.message
  }
  return error instanceof Error ? error.message : String(error)
}
