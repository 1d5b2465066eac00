/**
 * The report's charts, from a result: latency by percentile, then everything over the
 * measurement's time (deliveries, p99, connections, errors and reconnects, the server's CPU and
 * memory), with the injected faults and an abort marked on every time axis, since "what did the
 * drop at 20 s do" is read across all of them at once. Each time chart carries a caption with its
 * figures in words, for a reader without the canvas.
 */

import { formatBytes, formatCount, transportLabel } from './console.js'
import {
  alignSeries,
  type ChartMark,
  type ChartSpec,
  type ChartXKind,
  colorFor,
  distributionPoints,
  type PointSeries,
} from './html-page.js'
import type { RunResult, TransportResult } from './result-schema.js'

/** Colours of the marks, apart from the series' (html-page.ts SERIES_COLORS). */
export const FAULT_MARK_COLOR = '#e377c2'
export const ABORT_MARK_COLOR = '#7f0000'

const MIB = 1024 * 1024

/** The charts of shares and counts, whose y axis starts at 0 (see ChartSpec.yFromZero). */
const FROM_ZERO: ReadonlySet<string> = new Set(['server-cpu', 'errors', 'connections'])

/** 12 → "12 s", 2.25 → "2.3 s". */
export function formatSec(sec: number): string {
  return `${Number(sec.toFixed(1))} s`
}

/** An injected fault as a person names it: "drop 10 %", "storm", "restart". */
export function faultLabel(fault: { kind: string; fraction: number }): string {
  return fault.kind === 'drop'
    ? `drop ${Number((fault.fraction * 100).toPrecision(3))} %`
    : fault.kind
}

/**
 * The marks every time axis carries: each fault once (the same scenario fires the same faults in
 * every transport's measurement; one fired in only some of them names those), then the abort.
 */
export function timeMarks(result: RunResult): ChartMark[] {
  const measured = result.transports.filter((t) => t.failure === undefined)
  const byFault = new Map<string, { atSec: number; label: string; transports: string[] }>()
  for (const transport of result.transports) {
    for (const fault of transport.faults ?? []) {
      const key = `${fault.atSec}|${fault.kind}|${fault.fraction}`
      const entry = byFault.get(key) ?? {
        atSec: fault.atSec,
        label: faultLabel(fault),
        transports: [],
      }
      entry.transports.push(transportLabel(transport.transport))
      byFault.set(key, entry)
    }
  }
  const marks: ChartMark[] = [...byFault.values()]
    .sort((a, b) => a.atSec - b.atSec)
    .map((entry) => ({
      x: entry.atSec,
      label:
        entry.transports.length >= measured.length
          ? entry.label
          : `${entry.label} (${entry.transports.join(', ')})`,
      color: FAULT_MARK_COLOR,
    }))
  const aborted = result.abortedBy
  if (aborted !== undefined) {
    marks.push({
      x: aborted.atSec,
      label: `aborted: ${aborted.threshold} (${transportLabel(aborted.transport)})`,
      color: ABORT_MARK_COLOR,
    })
  }
  return marks
}

/** "Marked: drop 10 % at 5 s; aborted: … at 12 s." or nothing. */
function marksSentence(marks: readonly ChartMark[]): string {
  if (marks.length === 0) return ''
  return ` Marked: ${marks.map((mark) => `${mark.label} at ${formatSec(mark.x)}`).join('; ')}.`
}

/** The x value of the largest y, and the y: where a series peaked. */
function peakOf(points: readonly (readonly [number, number])[]): [number, number] | undefined {
  let peak: [number, number] | undefined
  for (const [x, y] of points) if (peak === undefined || y > peak[1]) peak = [x, y]
  return peak
}

/** Makes one chart of a run's page: its series aligned, with the run's time marks on time axes. */
type ChartMaker = (
  id: string,
  title: string,
  xLabel: string,
  yLabel: string,
  xKind: ChartXKind,
  series: PointSeries[],
  caption?: string,
) => ChartSpec

export function runCharts(result: RunResult): ChartSpec[] {
  const transports = result.transports
  const marks = timeMarks(result)
  const perTransport = (
    pick: (transport: TransportResult) => (readonly [number, number])[],
    from: readonly TransportResult[] = transports,
  ): PointSeries[] =>
    from.map((transport) => ({
      label: transportLabel(transport.transport),
      color: colorFor(transports.indexOf(transport)),
      points: pick(transport),
    }))
  const chart: ChartMaker = (id, title, xLabel, yLabel, xKind, series, caption) => {
    const spec: ChartSpec = {
      id,
      title,
      xLabel,
      yLabel,
      xKind,
      ...alignSeries(series),
      ...(FROM_ZERO.has(id) ? { yFromZero: true as const } : {}),
    }
    if (xKind !== 'seconds') return spec
    const text = `${caption ?? ''}${marksSentence(marks)}`.trim()
    return {
      ...spec,
      ...(marks.length > 0 ? { marks } : {}),
      ...(text === '' ? {} : { caption: text }),
    }
  }

  const charts = [
    chart(
      'latency-distribution',
      'Latency by percentile',
      'percentile',
      'latency (ms)',
      'nines',
      perTransport((t) => distributionPoints(t.latencyDistribution)),
    ),
    chart(
      'deliveries',
      'Deliveries per second',
      'seconds',
      'deliveries/s',
      'seconds',
      perTransport((t) => t.timeSeries.map((p) => [p.tSec, p.deliveriesPerSec])),
    ),
    chart(
      'p99',
      'p99 latency over time',
      'seconds',
      'p99 (ms)',
      'seconds',
      perTransport((t) => t.timeSeries.map((p) => [p.tSec, p.p99Us / 1000])),
    ),
    chart(
      'connections',
      'Connections over time',
      'seconds',
      'connections',
      'seconds',
      perTransport((t) => t.timeSeries.map((p) => [p.tSec, p.connections])),
    ),
    errorsChart(transports, chart),
  ]
  const sampled = transports.filter((t) => (t.serverSeries ?? []).length > 0)
  if (sampled.length > 0) {
    const cpu = perTransport(
      (t) => (t.serverSeries ?? []).map((p) => [p.tSec, p.cpuPercent]),
      sampled,
    )
    const rss = perTransport(
      (t) => (t.serverSeries ?? []).map((p) => [p.tSec, p.rssBytes / MIB]),
      sampled,
    )
    charts.push(
      chart(
        'server-cpu',
        "Server CPU over time (each transport's run)",
        'seconds',
        'CPU (% of one core)',
        'seconds',
        cpu,
        `Server CPU, % of one core (200 % is two cores busy): ${cpu
          .map((series) => {
            const peak = peakOf(series.points)
            const mean =
              series.points.reduce((sum, [, y]) => sum + y, 0) / Math.max(1, series.points.length)
            return `${series.label} mean ${mean.toFixed(0)} %, peak ${peak?.[1].toFixed(0)} % at ${formatSec(peak?.[0] ?? 0)}`
          })
          .join('; ')}.`,
      ),
      chart(
        'server-memory',
        "Server memory over time (each transport's run)",
        'seconds',
        'RSS (MiB)',
        'seconds',
        rss,
        `Server resident memory: ${sampled
          .map((t) => {
            const samples = t.serverSeries ?? []
            const peak = peakOf(samples.map((p) => [p.tSec, p.rssBytes]))
            return `${transportLabel(t.transport)} from ${formatBytes(samples[0]?.rssBytes ?? 0)} to a peak of ${formatBytes(peak?.[1] ?? 0)} at ${formatSec(peak?.[0] ?? 0)}`
          })
          .join('; ')}.`,
      ),
    )
  }
  const capacity = result.capacity ?? []
  if (capacity.length > 0) {
    charts.push(
      chart(
        'capacity',
        'Capacity search: p99 by subscribers',
        'subscribers',
        'p99 (ms)',
        'count',
        capacity.map((entry, i) => ({
          label: transportLabel(entry.transport),
          color: colorFor(i),
          points: entry.curve.map((step) => [step.subscribers, step.p99Us / 1000] as const),
        })),
      ),
    )
  }
  return charts
}

/**
 * Errors per interval (solid) and, from schema 6, reconnections begun per interval (dashed), per
 * transport: a count per interval rather than a rate, since an interval's handful of errors is
 * the figure itself. Results before version 6 have no reconnects per interval, only the total.
 */
function errorsChart(transports: readonly TransportResult[], chart: ChartMaker): ChartSpec {
  const series: PointSeries[] = []
  const words: string[] = []
  transports.forEach((t, i) => {
    const label = transportLabel(t.transport)
    const errors = t.timeSeries.map((p) => [p.tSec, p.errors] as const)
    series.push({ label: `${label} errors`, color: colorFor(i), points: errors })
    const hasReconnects = t.timeSeries.some((p) => p.reconnects !== undefined)
    let reconnects: (readonly [number, number])[] = []
    if (hasReconnects) {
      reconnects = t.timeSeries.map((p) => [p.tSec, p.reconnects ?? 0] as const)
      series.push({
        label: `${label} reconnects`,
        color: colorFor(i),
        dash: true,
        points: reconnects,
      })
    }
    const most = peakOf(errors)
    const inWindow = errors.reduce((sum, [, y]) => sum + y, 0)
    let sentence = `${label} ${formatCount(inWindow)} error${inWindow === 1 ? '' : 's'} in the intervals`
    if (most !== undefined && most[1] > 0) {
      sentence += ` (most, ${formatCount(most[1])}, in the interval at ${formatSec(most[0])})`
    }
    if (hasReconnects) {
      const total = reconnects.reduce((sum, [, y]) => sum + y, 0)
      const peak = peakOf(reconnects)
      sentence += `, ${formatCount(total)} reconnect${total === 1 ? '' : 's'}`
      if (peak !== undefined && peak[1] > 0) {
        sentence += ` (most, ${formatCount(peak[1])}, at ${formatSec(peak[0])})`
      }
    }
    words.push(sentence)
  })
  const interval = intervalSecOf(transports)
  return chart(
    'errors',
    'Errors (solid) and reconnects (dashed) over time',
    'seconds',
    `count per ${formatSec(interval)} interval`,
    'seconds',
    series,
    words.length === 0 ? undefined : `${words.join('; ')}.`,
  )
}

/** The time series' interval: the smallest step between two points (1 s when it cannot tell). */
function intervalSecOf(transports: readonly TransportResult[]): number {
  let step = Number.POSITIVE_INFINITY
  for (const t of transports) {
    for (let i = 1; i < t.timeSeries.length; i++) {
      const gap = t.timeSeries[i]!.tSec - t.timeSeries[i - 1]!.tSec
      if (gap > 0) step = Math.min(step, gap)
    }
  }
  return Number.isFinite(step) ? step : 1
}
