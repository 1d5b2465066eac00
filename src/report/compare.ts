/**
 * Baseline vs candidate (what k6 OSS still lacks, grafana/k6#1843): percentiles are read from each
 * run's FULL histogram (the sum of its `.hlog` intervals), so a comparison is exact at any
 * percentile rather than a diff of rounded summaries. Beside latency it judges deliveries/s,
 * server CPU per delivery, loss, errors, connect time and recovery. Runs that did not carry the
 * same workload are refused (compare-checks.ts) unless forced, and then every rendering opens
 * with how they differ. `compareResults` returns data; the text table and the HTML page
 * (overlaid percentile-distribution curves) are separate renderers.
 */

import type { Histogram } from 'hdr-histogram-js'
import {
  DIFFERENT_WORKLOAD,
  refuseDifferentWorkloads,
  workloadDifferences,
} from './compare-checks.js'
import { formatCount, formatRatio, formatTable, formatUs, transportLabel } from './console.js'
import {
  alignSeries,
  colorFor,
  distributionPoints,
  escapeHtml,
  type PointSeries,
  renderPage,
  type UplotAssets,
} from './html.js'
import type { TransportName } from './measurements.js'
import type { LoadedResult } from './read-result.js'
import type { DistributionPoint, TransportResult } from './result-schema.js'
import { percentileDistribution } from './transport-result.js'

/** Each figure compared, with which way is worse: all of them up, except deliveries/s. */
const COMPARED_METRICS = {
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
export type Verdict = 'better' | 'worse' | 'same'

export interface MetricChange {
  readonly metric: ComparedMetric
  /** µs for latencies and CPU, events/s for deliveries/s, a ratio (0..1) for loss and errors. */
  readonly baseline: number
  readonly candidate: number
  readonly delta: number
  /** (candidate − baseline) / baseline; null when the baseline is 0. */
  readonly relative: number | null
  readonly verdict: Verdict
}

export interface TransportComparison {
  readonly transport: TransportName
  readonly changes: readonly MetricChange[]
  readonly baselineDistribution: readonly DistributionPoint[]
  readonly candidateDistribution: readonly DistributionPoint[]
  /** A figure other than the max got worse by more than the noise band. */
  readonly regression: boolean
}

export interface RunRef {
  readonly dir: string
  readonly runId: string
  readonly scenario: string
  readonly commit: string
  readonly startedAt: string
}

export interface Comparison {
  readonly baseline: RunRef
  readonly candidate: RunRef
  readonly noiseRatio: number
  /**
   * How the two runs' workloads differ (subscribers, durations, transports, server options,
   * target…): empty unless the comparison was forced; then every figure is suspect.
   */
  readonly workloadDifferences: readonly string[]
  readonly transports: readonly TransportComparison[]
  readonly onlyInBaseline: readonly TransportName[]
  readonly onlyInCandidate: readonly TransportName[]
  /** Things that make the comparison less meaningful (invalid runs). */
  readonly warnings: readonly string[]
  readonly regression: boolean
}

export interface CompareOptions {
  /**
   * Relative changes within ±noiseRatio count as "same" (default 5%): run-to-run noise on a
   * shared 2-core machine is of that order. The max is shown but never judged: one sample.
   */
  readonly noiseRatio?: number
  /** Compare runs that did not carry the same workload, listing how they differ (else refused). */
  readonly force?: boolean
}

const PERCENTILES: readonly [ComparedMetric, number][] = [
  ['p50', 50],
  ['p90', 90],
  ['p99', 99],
  ['p99.9', 99.9],
]

function change(
  metric: ComparedMetric,
  baseline: number,
  candidate: number,
  noiseRatio: number,
): MetricChange {
  const delta = candidate - baseline
  const relative = baseline === 0 ? null : delta / baseline
  let verdict: Verdict = 'same'
  if (relative === null ? delta !== 0 : Math.abs(relative) > noiseRatio) {
    verdict = delta > 0 === COMPARED_METRICS[metric].higherIsWorse ? 'worse' : 'better'
  }
  return { metric, baseline, candidate, delta, relative, verdict }
}

/**
 * Server CPU µs per delivered event: its average CPU (% of one core) over the measured seconds,
 * divided by the deliveries; null without a server sample or a delivery.
 */
function serverCpuUsPerDelivery(transport: TransportResult): number | null {
  if (transport.server === null || transport.deliveries === 0) return null
  return (
    ((transport.server.cpuPercentAvg / 100) * transport.measuredSec * 1_000_000) /
    transport.deliveries
  )
}

/** The figures beside the latency histogram's, from each run's transport result. */
function resultChanges(
  base: TransportResult,
  cand: TransportResult,
  noiseRatio: number,
): MetricChange[] {
  const changes = [change('deliveries/s', base.deliveriesPerSec, cand.deliveriesPerSec, noiseRatio)]
  const baseCpu = serverCpuUsPerDelivery(base)
  const candCpu = serverCpuUsPerDelivery(cand)
  if (baseCpu !== null && candCpu !== null) {
    changes.push(change('server CPU/delivery', baseCpu, candCpu, noiseRatio))
  }
  changes.push(
    change('loss ratio', base.lossRatio, cand.lossRatio, noiseRatio),
    change('error rate', base.errorRate, cand.errorRate, noiseRatio),
    change('connect p99', base.connectTimeUs.p99, cand.connectTimeUs.p99, noiseRatio),
    change('recovery p99', base.recoveryUs.p99, cand.recoveryUs.p99, noiseRatio),
  )
  return changes
}

function valueAt(histogram: Histogram, percentile: number): number {
  return histogram.totalCount === 0 ? 0 : histogram.getValueAtPercentile(percentile)
}

function refOf(loaded: LoadedResult): RunRef {
  return {
    dir: loaded.dir,
    runId: loaded.result.runId,
    scenario: loaded.result.scenario.name,
    commit: loaded.result.commit,
    startedAt: loaded.result.startedAt,
  }
}

export function compareResults(
  baseline: LoadedResult,
  candidate: LoadedResult,
  options: CompareOptions = {},
): Comparison {
  const noiseRatio = options.noiseRatio ?? 0.05
  const differences = workloadDifferences(baseline, candidate)
  if (options.force !== true) refuseDifferentWorkloads(differences)
  const warnings: string[] = []
  const baseTransports = new Map(baseline.result.transports.map((t) => [t.transport, t]))
  const candTransports = new Map(candidate.result.transports.map((t) => [t.transport, t]))
  const transports: TransportComparison[] = []
  for (const [transport, base] of baseTransports) {
    const cand = candTransports.get(transport)
    const baseHistogram = baseline.histograms.get(transport)
    const candHistogram = candidate.histograms.get(transport)
    if (!cand || !baseHistogram || !candHistogram) continue
    for (const [which, result] of [
      ['baseline', base],
      ['candidate', cand],
    ] as const) {
      if (!result.validity.valid) {
        warnings.push(
          `the ${which}'s ${transport} run is marked invalid: ${result.validity.invalidReasons.join('; ')}`,
        )
      }
    }
    const changes: MetricChange[] = PERCENTILES.map(([metric, percentile]) =>
      change(
        metric,
        valueAt(baseHistogram, percentile),
        valueAt(candHistogram, percentile),
        noiseRatio,
      ),
    )
    changes.push(change('max', baseHistogram.maxValue, candHistogram.maxValue, noiseRatio))
    changes.push(...resultChanges(base, cand, noiseRatio))
    transports.push({
      transport,
      changes,
      baselineDistribution: percentileDistribution(baseHistogram),
      candidateDistribution: percentileDistribution(candHistogram),
      regression: changes.some((entry) => entry.metric !== 'max' && entry.verdict === 'worse'),
    })
  }
  return {
    baseline: refOf(baseline),
    candidate: refOf(candidate),
    noiseRatio,
    workloadDifferences: differences,
    transports,
    onlyInBaseline: [...baseTransports.keys()].filter((t) => !candTransports.has(t)),
    onlyInCandidate: [...candTransports.keys()].filter((t) => !baseTransports.has(t)),
    warnings,
    regression: transports.some((t) => t.regression),
  }
}

function formatValue(metric: ComparedMetric, value: number): string {
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

function formatDelta(metric: ComparedMetric, delta: number): string {
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

/** Per transport a table of metric, baseline, candidate, change, relative change and verdict. */
export function formatComparison(comparison: Comparison): string {
  const parts = [
    `baseline  ${comparison.baseline.runId} (${comparison.baseline.scenario}, commit ${comparison.baseline.commit})`,
    `candidate ${comparison.candidate.runId} (${comparison.candidate.scenario}, commit ${comparison.candidate.commit})`,
  ].join('\n')
  const blocks = [parts]
  const differences = comparison.workloadDifferences
  // First and loud: every figure below is suspect when the runs carried different loads.
  if (differences.length > 0) {
    blocks.unshift(`WARNING: ${DIFFERENT_WORKLOAD}\n  - ${differences.join('\n  - ')}`)
  }
  for (const warning of comparison.warnings) blocks.push(`warning: ${warning}`)
  for (const transport of comparison.transports) {
    blocks.push(
      `${transportLabel(transport.transport)}${transport.regression ? '  REGRESSION' : ''}\n\n${formatTable(
        ['metric', 'baseline', 'candidate', 'change', 'relative', 'verdict'],
        transport.changes.map((entry) => [
          entry.metric,
          formatValue(entry.metric, entry.baseline),
          formatValue(entry.metric, entry.candidate),
          formatDelta(entry.metric, entry.delta),
          formatRelative(entry.relative),
          entry.metric === 'max' ? '' : entry.verdict,
        ]),
      )}`,
    )
  }
  if (comparison.onlyInBaseline.length > 0)
    blocks.push(`only in baseline: ${comparison.onlyInBaseline.join(', ')}`)
  if (comparison.onlyInCandidate.length > 0)
    blocks.push(`only in candidate: ${comparison.onlyInCandidate.join(', ')}`)
  const verdict = comparison.regression
    ? `REGRESSION (beyond ±${(comparison.noiseRatio * 100).toFixed(0)}% noise)`
    : `no regression beyond ±${(comparison.noiseRatio * 100).toFixed(0)}% noise`
  blocks.push(
    differences.length > 0
      ? `${verdict}, between runs of different workloads (see the WARNING above)`
      : verdict,
  )
  return blocks.join('\n\n')
}

/** The forced comparison's warning, before any figure, as loud as an invalid run's. */
function workloadWarningHtml(differences: readonly string[]): string {
  if (differences.length === 0) return ''
  const items = differences.map((entry) => `<li>${escapeHtml(entry)}</li>`).join('')
  return `<div class="invalid">WARNING: ${escapeHtml(DIFFERENT_WORKLOAD)}<ul>${items}</ul>A change between them may be the load's, not the server's.</div>`
}

export function renderComparisonHtml(
  comparison: Comparison,
  options: { assets?: UplotAssets } = {},
): string {
  const series: PointSeries[] = comparison.transports.flatMap((transport, i) => [
    {
      label: `${transportLabel(transport.transport)} baseline`,
      color: colorFor(i),
      dash: true,
      points: distributionPoints(transport.baselineDistribution),
    },
    {
      label: `${transportLabel(transport.transport)} candidate`,
      color: colorFor(i),
      points: distributionPoints(transport.candidateDistribution),
    },
  ])
  const chart = {
    id: 'compare-distribution',
    title: 'Latency by percentile: baseline (dashed) vs candidate',
    xLabel: 'percentile',
    yLabel: 'latency (ms)',
    xKind: 'nines' as const,
    ...alignSeries(series),
  }
  const tables = comparison.transports.map((transport) => {
    const rows = transport.changes
      .map(
        (entry) =>
          `<tr><td>${escapeHtml(entry.metric)}</td><td>${escapeHtml(formatValue(entry.metric, entry.baseline))}</td><td>${escapeHtml(formatValue(entry.metric, entry.candidate))}</td><td>${escapeHtml(formatDelta(entry.metric, entry.delta))}</td><td>${escapeHtml(formatRelative(entry.relative))}</td><td class="${entry.verdict === 'worse' && entry.metric !== 'max' ? 'failed' : ''}">${escapeHtml(entry.metric === 'max' ? '' : entry.verdict)}</td></tr>`,
      )
      .join('')
    return `<h2>${escapeHtml(transportLabel(transport.transport))}${transport.regression ? ' <span class="failed">REGRESSION</span>' : ''}</h2>
<table class="summary"><tr><th>metric</th><th>baseline</th><th>candidate</th><th>change</th><th>relative</th><th>verdict</th></tr>${rows}</table>`
  })
  const ref = (label: string, run: RunRef) =>
    `<tr><td>${escapeHtml(label)}</td><td>${escapeHtml(`${run.runId} — ${run.scenario}, commit ${run.commit}, ${run.startedAt} (${run.dir})`)}</td></tr>`
  const body = `<h1>tickstorm compare <span class="${comparison.regression ? 'failed' : 'passed'}">${comparison.regression ? 'REGRESSION' : 'NO REGRESSION'}</span></h1>
<table class="meta">${ref('baseline', comparison.baseline)}${ref('candidate', comparison.candidate)}</table>
${workloadWarningHtml(comparison.workloadDifferences)}
${comparison.warnings.map((warning) => `<div class="invalid">${escapeHtml(warning)}</div>`).join('\n')}
${tables.join('\n')}`
  const page = { title: 'tickstorm compare', bodyHtml: body, charts: [chart] }
  return renderPage(options.assets ? { ...page, assets: options.assets } : page)
}
