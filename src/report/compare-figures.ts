/**
 * The figures `compare` judges, read from one run for one transport, and how each is shown. A
 * single-run comparison sets two runs' figures side by side; a comparison of sets takes each
 * figure from every run of a set (a set's p99 is the mean of its runs' p99s) and bootstraps over
 * them; `run --repeat` summarises a set with the same figures, so all three speak alike.
 */

import type { Histogram } from 'hdr-histogram-js'
import { formatCount, formatRatio, formatUs } from './console.js'
import type { TransportName } from './measurements.js'
import type { LoadedResult } from './read-result.js'
import type { TransportResult } from './result-schema.js'

/** Each figure compared, with which way is worse: all of them up, except deliveries/s. */
export const COMPARED_METRICS = {
  p50: { unit: 'us', higherIsWorse: true },
  p90: { unit: 'us', higherIsWorse: true },
  p99: { unit: 'us', higherIsWorse: true },
  'p99.9': { unit: 'us', higherIsWorse: true },
  /** One sample: shown, never judged. */
  max: { unit: 'us', higherIsWorse: true },
  'deliveries/s': { unit: 'perSec', higherIsWorse: false },
  /** The server's CPU time over the measurement per event delivered (a target it could sample). */
  'server CPU/delivery': { unit: 'cpuUs', higherIsWorse: true },
  'loss ratio': { unit: 'ratio', higherIsWorse: true },
  'error rate': { unit: 'ratio', higherIsWorse: true },
  'connect p99': { unit: 'us', higherIsWorse: true },
  'recovery p99': { unit: 'us', higherIsWorse: true },
} as const

export type ComparedMetric = keyof typeof COMPARED_METRICS

/** In the order compare prints them. */
export const COMPARED_METRIC_NAMES = Object.keys(COMPARED_METRICS) as readonly ComparedMetric[]

/** The max is one sample: shown, never judged. */
export function isJudged(metric: ComparedMetric): boolean {
  return metric !== 'max'
}

const PERCENTILES: readonly [ComparedMetric, number][] = [
  ['p50', 50],
  ['p90', 90],
  ['p99', 99],
  ['p99.9', 99.9],
]

/**
 * Server CPU µs per delivered event: its average CPU (% of one core) over the measured seconds,
 * divided by the deliveries; null without a server sample or a delivery.
 */
export function serverCpuUsPerDelivery(transport: TransportResult): number | null {
  if (transport.server === null || transport.deliveries === 0) return null
  return (
    ((transport.server.cpuPercentAvg / 100) * transport.measuredSec * 1_000_000) /
    transport.deliveries
  )
}

function valueAt(histogram: Histogram, percentile: number): number {
  return histogram.totalCount === 0 ? 0 : histogram.getValueAtPercentile(percentile)
}

/**
 * One run's figures for one transport: latency from its full histogram, the rest from its
 * transport result; a figure the run has none of (server CPU without a server sample) is
 * absent. Null when the run did not measure the transport.
 */
export function transportFigures(
  loaded: LoadedResult,
  transport: TransportName,
): ReadonlyMap<ComparedMetric, number> | null {
  const result = loaded.result.transports.find((entry) => entry.transport === transport)
  const histogram = loaded.histograms.get(transport)
  if (result === undefined || histogram === undefined) return null
  const figures = new Map<ComparedMetric, number>()
  for (const [metric, percentile] of PERCENTILES)
    figures.set(metric, valueAt(histogram, percentile))
  figures.set('max', histogram.maxValue)
  figures.set('deliveries/s', result.deliveriesPerSec)
  const cpu = serverCpuUsPerDelivery(result)
  if (cpu !== null) figures.set('server CPU/delivery', cpu)
  figures.set('loss ratio', result.lossRatio)
  figures.set('error rate', result.errorRate)
  figures.set('connect p99', result.connectTimeUs.p99)
  figures.set('recovery p99', result.recoveryUs.p99)
  return figures
}

/**
 * A run's figures for a transport as one run of a set: as transportFigures, but null too when
 * the transport crashed in that run, since what it measured there are zeros, not figures.
 */
export function measuredFigures(
  loaded: LoadedResult,
  transport: TransportName,
): ReadonlyMap<ComparedMetric, number> | null {
  const crashed = loaded.result.transports.some(
    (entry) => entry.transport === transport && entry.failure !== undefined,
  )
  return crashed ? null : transportFigures(loaded, transport)
}

export function formatValue(metric: ComparedMetric, value: number): string {
  switch (COMPARED_METRICS[metric].unit) {
    case 'perSec':
      return formatCount(value)
    case 'ratio':
      return formatRatio(value)
    case 'cpuUs':
      return `${value.toFixed(2)} µs`
    case 'us':
      return formatUs(value)
  }
}

export function formatDelta(metric: ComparedMetric, delta: number): string {
  const sign = delta > 0 ? '+' : delta < 0 ? '−' : '±'
  const size = Math.abs(delta)
  // A change of a ratio in percentage points, so it does not read as the relative change.
  const shown =
    COMPARED_METRICS[metric].unit === 'ratio'
      ? `${(size * 100).toFixed(3)} pp`
      : formatValue(metric, size)
  return `${sign}${shown}`
}

export function formatRelative(relative: number | null): string {
  if (relative === null) return 'n/a'
  const percent = relative * 100
  const sign = percent > 0 ? '+' : percent < 0 ? '−' : '±'
  return `${sign}${Math.abs(percent).toFixed(1)}%`
}

/** A percentage as typed: 5, 2.5, 0.25 (no trailing zeros), so `--noise 2.5` reads ±2.5%. */
export function formatPercent(ratio: number): string {
  return `${Number((ratio * 100).toFixed(2))}%`
}
