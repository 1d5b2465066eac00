/**
 * Baseline vs candidate (what k6 OSS still lacks, grafana/k6#1843): percentiles are read from each
 * run's FULL histogram (the sum of its `.hlog` intervals), so a comparison is exact at any
 * percentile rather than a diff of rounded summaries. Beside latency it judges deliveries/s,
 * server CPU per delivery, loss, errors, connect time and recovery. Runs that did not carry the
 * same workload are refused (compare-checks.ts) unless forced, and then every rendering opens
 * with how they differ. `compareResults` returns data; the text table and the HTML page
 * (overlaid percentile-distribution curves) are separate renderers.
 *
 * Two single runs are judged against a fixed noise band (±5 % unless told): a guess at how much
 * two runs of one build differ. Two sets of runs (`run --repeat`) need no guess: `compareSets`
 * takes the noise from how much each set's runs differ among themselves, and calls a change only
 * when its bootstrap confidence interval (bootstrap.ts) excludes zero.
 */

import { basename } from 'node:path'
import type { Histogram } from 'hdr-histogram-js'
import {
  type BootstrapOptions,
  bootstrapMeanChange,
  DEFAULT_BOOTSTRAP,
  intervalSide,
  type MeanChangeInterval,
  MIN_RUNS_FOR_CONFIDENCE,
} from './bootstrap.js'
import {
  DIFFERENT_WORKLOAD,
  refuseDifferentWorkloads,
  setWorkloadDifferences,
  workloadDifferences,
} from './compare-checks.js'
import {
  COMPARED_METRIC_NAMES,
  COMPARED_METRICS,
  type ComparedMetric,
  formatDelta,
  formatPercent,
  formatRelative,
  formatValue,
  isJudged,
  measuredFigures,
  transportFigures,
} from './compare-figures.js'
import { formatTable, transportLabel } from './console.js'
import { type HlogInterval, sumIntervals } from './hlog.js'
import {
  alignSeries,
  colorFor,
  distributionPoints,
  escapeHtml,
  type PointSeries,
  renderPage,
  type UplotAssets,
} from './html-page.js'
import type { TransportName } from './measurements.js'
import type { LoadedResult } from './read-result.js'
import type { DistributionPoint } from './result-schema.js'
import { percentileDistribution } from './transport-result.js'

export type { ComparedMetric }
export { formatRelative }
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
  /**
   * Between two sets: baseline and candidate are the means over each set's runs, and this is the
   * bootstrap interval of their change, which alone decides the verdict. Absent for two runs.
   */
  readonly interval?: MeanChangeInterval
}

export interface TransportComparison {
  readonly transport: TransportName
  readonly changes: readonly MetricChange[]
  readonly baselineDistribution: readonly DistributionPoint[]
  readonly candidateDistribution: readonly DistributionPoint[]
  /**
   * A figure other than the max got worse: by more than the noise band (two runs), or with its
   * whole interval on the worse side of zero (two sets).
   */
  readonly regression: boolean
}

export interface RunRef {
  readonly dir: string
  readonly runId: string
  readonly scenario: string
  readonly commit: string
  readonly startedAt: string
  /** For a set: how many runs it holds (runId is then the set directory's name). */
  readonly runs?: number
}

/** How two sets were compared: their sizes, and the bootstrap's settings when it ran. */
export interface SetsCompared {
  readonly baselineRuns: number
  readonly candidateRuns: number
  /**
   * Null when a side had fewer than MIN_RUNS_FOR_CONFIDENCE runs: the means were then judged
   * against the noise band, as two single runs are (the comparison's warnings say so).
   */
  readonly bootstrap: {
    readonly resamples: number
    readonly confidence: number
    readonly seed: number
  } | null
}

export interface Comparison {
  readonly baseline: RunRef
  readonly candidate: RunRef
  /**
   * The fixed noise band the changes were judged against: two single runs, or sets too small to
   * bootstrap; null when every change was judged by its interval instead.
   */
  readonly noiseRatio: number | null
  /** Set when sets of runs were compared (a single run counts as a set of one). */
  readonly sets: SetsCompared | null
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

export interface SetCompareOptions extends CompareOptions {
  /** The bootstrap's resamples, confidence and seed (default 10,000, 95 %, seed 1). */
  readonly bootstrap?: BootstrapOptions
}

/** One side of a comparison of sets: a set's finished runs, or one run as a set of one. */
export interface RunSet {
  /** The set's directory (or the single run's). */
  readonly dir: string
  /** What the comparison calls it: the set directory's name, or the run's id. */
  readonly name: string
  /** At least one run. */
  readonly runs: readonly LoadedResult[]
  /** Runs of the set left out of the comparison and why (an interrupted one). */
  readonly skipped?: readonly string[]
}

/** The default band for two single runs: run-to-run noise on a shared 2-core machine. */
export const DEFAULT_NOISE_RATIO = 0.05

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
    verdict = directionVerdict(metric, delta)
  }
  return { metric, baseline, candidate, delta, relative, verdict }
}

/** Whether a change in this direction is for the worse or the better for this figure. */
export function directionVerdict(metric: ComparedMetric, delta: number): Verdict {
  if (delta === 0) return 'same'
  return delta > 0 === COMPARED_METRICS[metric].higherIsWorse ? 'worse' : 'better'
}

/** Why a run's measurement of a transport is less meaningful, or null when it is valid. */
export function invalidWarning(
  which: string,
  loaded: LoadedResult,
  transport: TransportName,
): string | null {
  const result = loaded.result.transports.find((entry) => entry.transport === transport)
  if (result === undefined || result.validity.valid) return null
  return `${which}'s ${transport} run is marked invalid: ${result.validity.invalidReasons.join('; ')}`
}

/**
 * The transports two results line up: the baseline's, in its order (those the candidate lacks
 * find no figures and drop out), and those only one side ran. For sets, their first runs.
 */
interface Lineup {
  readonly transports: readonly TransportName[]
  readonly onlyInBaseline: readonly TransportName[]
  readonly onlyInCandidate: readonly TransportName[]
}

function lineUp(baseline: LoadedResult, candidate: LoadedResult): Lineup {
  const transports = baseline.result.transports.map((t) => t.transport)
  const candTransports = candidate.result.transports.map((t) => t.transport)
  return {
    transports,
    onlyInBaseline: transports.filter((t) => !candTransports.includes(t)),
    onlyInCandidate: candTransports.filter((t) => !transports.includes(t)),
  }
}

/** One transport's changes, with both latency distributions and whether a judged one worsened. */
function transportComparison(
  transport: TransportName,
  changes: readonly MetricChange[],
  baselineLatency: Histogram,
  candidateLatency: Histogram,
): TransportComparison {
  return {
    transport,
    changes,
    baselineDistribution: percentileDistribution(baselineLatency),
    candidateDistribution: percentileDistribution(candidateLatency),
    regression: changes.some((entry) => isJudged(entry.metric) && entry.verdict === 'worse'),
  }
}

/** The part of a Comparison the transports make: the lineup, their changes, the regression. */
function transportsPart(
  lineup: Lineup,
  transports: readonly TransportComparison[],
): Pick<Comparison, 'transports' | 'onlyInBaseline' | 'onlyInCandidate' | 'regression'> {
  return {
    transports,
    onlyInBaseline: lineup.onlyInBaseline,
    onlyInCandidate: lineup.onlyInCandidate,
    regression: transports.some((t) => t.regression),
  }
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
  const noiseRatio = options.noiseRatio ?? DEFAULT_NOISE_RATIO
  const differences = workloadDifferences(baseline, candidate)
  if (options.force !== true) refuseDifferentWorkloads(differences)
  const warnings: string[] = []
  const lineup = lineUp(baseline, candidate)
  const transports: TransportComparison[] = []
  for (const transport of lineup.transports) {
    const baseFigures = transportFigures(baseline, transport)
    const candFigures = transportFigures(candidate, transport)
    if (baseFigures === null || candFigures === null) continue
    for (const [which, loaded] of [
      ['the baseline', baseline],
      ['the candidate', candidate],
    ] as const) {
      const warning = invalidWarning(which, loaded, transport)
      if (warning !== null) warnings.push(warning)
    }
    const changes: MetricChange[] = []
    for (const metric of COMPARED_METRIC_NAMES) {
      const base = baseFigures.get(metric)
      const cand = candFigures.get(metric)
      if (base !== undefined && cand !== undefined) {
        changes.push(change(metric, base, cand, noiseRatio))
      }
    }
    transports.push(
      transportComparison(
        transport,
        changes,
        baseline.histograms.get(transport)!,
        candidate.histograms.get(transport)!,
      ),
    )
  }
  return {
    baseline: refOf(baseline),
    candidate: refOf(candidate),
    noiseRatio,
    sets: null,
    workloadDifferences: differences,
    warnings,
    ...transportsPart(lineup, transports),
  }
}

/** What a run is called within its side of a comparison of sets: `run-2`, or its id alone. */
function runName(side: RunSet, run: LoadedResult): string {
  return side.runs.length === 1 && run.dir === side.dir ? run.result.runId : basename(run.dir)
}

/** A set's figures for one transport: per figure, its value in each run that measured it. */
interface SetFigures {
  readonly perMetric: ReadonlyMap<ComparedMetric, readonly number[]>
  /** How many runs measured the transport. */
  readonly runs: number
  readonly intervals: readonly HlogInterval[]
}

function setFigures(side: RunSet, transport: TransportName): SetFigures | null {
  const perMetric = new Map<ComparedMetric, number[]>()
  const intervals: HlogInterval[] = []
  let runs = 0
  for (const run of side.runs) {
    const figures = measuredFigures(run, transport)
    if (figures === null) continue
    runs++
    intervals.push(...(run.intervals.get(transport) ?? []))
    for (const metric of COMPARED_METRIC_NAMES) {
      const value = figures.get(metric)
      if (value === undefined) continue
      const list = perMetric.get(metric) ?? []
      list.push(value)
      perMetric.set(metric, list)
    }
  }
  if (runs === 0) return null
  // A figure some run lacks (server CPU without a sample) is left out: its mean would be
  // over other runs than the rest's.
  for (const [metric, values] of perMetric) if (values.length !== runs) perMetric.delete(metric)
  return { perMetric, runs, intervals }
}

function meanOf(values: readonly number[]): number {
  let sum = 0
  for (const value of values) sum += value
  return sum / values.length
}

/** A change judged by its interval alone: for the worse or better only when it excludes zero. */
function intervalChange(
  metric: ComparedMetric,
  baseline: readonly number[],
  candidate: readonly number[],
  bootstrap: BootstrapOptions,
): MetricChange {
  const interval = bootstrapMeanChange(baseline, candidate, bootstrap)
  return {
    metric,
    baseline: interval.baselineMean,
    candidate: interval.candidateMean,
    delta: interval.delta,
    relative: interval.relative,
    verdict: directionVerdict(metric, intervalSide(interval)),
    interval,
  }
}

function setRef(side: RunSet): RunRef {
  const first = side.runs[0]!
  const single = side.runs.length === 1 && first.dir === side.dir
  return single
    ? refOf(first)
    : { ...refOf(first), dir: side.dir, runId: side.name, runs: side.runs.length }
}

/**
 * Two sets of runs of one workload, figure by figure: each figure's mean over each set's runs
 * (a set's p99 is the mean of its runs' p99s), and the bootstrap interval of the change of the
 * means (bootstrap.ts: each set's runs resampled within it). A figure got worse or better only
 * when its interval excludes zero; else there is no significant change, however large the
 * change of the means looks. With fewer than MIN_RUNS_FOR_CONFIDENCE runs on a side there is no
 * interval worth the name: the warnings say so and the means are judged against the noise band.
 *
 * Workloads are checked as for two runs, within each set (every run against the set's first)
 * and between the sets' first runs; any difference refuses the comparison unless forced.
 */
export function compareSets(
  baseline: RunSet,
  candidate: RunSet,
  options: SetCompareOptions = {},
): Comparison {
  const firstBase = baseline.runs[0]
  const firstCand = candidate.runs[0]
  if (firstBase === undefined || firstCand === undefined) {
    throw new RangeError('each side of a comparison needs at least one finished run')
  }
  const differences = [
    ...setWorkloadDifferences('baseline', baseline.runs, (run) => runName(baseline, run)),
    ...setWorkloadDifferences('candidate', candidate.runs, (run) => runName(candidate, run)),
    ...workloadDifferences(firstBase, firstCand),
  ]
  if (options.force !== true) refuseDifferentWorkloads(differences)
  const bootstrapOptions = { ...DEFAULT_BOOTSTRAP, ...options.bootstrap }
  const noiseRatio = options.noiseRatio ?? DEFAULT_NOISE_RATIO
  const warnings: string[] = []
  for (const [which, side] of [
    ['baseline', baseline],
    ['candidate', candidate],
  ] as const) {
    for (const skipped of side.skipped ?? []) {
      warnings.push(`the ${which} set's ${skipped} is left out`)
    }
  }
  const smallest = Math.min(baseline.runs.length, candidate.runs.length)
  const bootstrapped = smallest >= MIN_RUNS_FOR_CONFIDENCE
  let judgedByNoise = !bootstrapped
  if (!bootstrapped) {
    const sizes = `the baseline has ${runCount(baseline.runs.length)}, the candidate ${runCount(candidate.runs.length)}`
    warnings.push(
      `${sizes}: a confidence interval needs at least ${MIN_RUNS_FOR_CONFIDENCE} runs on each side (run --repeat ${MIN_RUNS_FOR_CONFIDENCE} or more), so the means are judged against the ±${formatPercent(noiseRatio)} noise band instead`,
    )
  }
  const lineup = lineUp(firstBase, firstCand)
  const transports: TransportComparison[] = []
  for (const transport of lineup.transports) {
    const base = setFigures(baseline, transport)
    const cand = setFigures(candidate, transport)
    if (base === null || cand === null) continue
    for (const [which, side] of [
      ['the baseline', baseline],
      ['the candidate', candidate],
    ] as const) {
      for (const run of side.runs) {
        const label = side.runs.length === 1 ? which : `${which} ${runName(side, run)}`
        const warning = invalidWarning(label, run, transport)
        if (warning !== null) warnings.push(warning)
      }
      const measured = which === 'the baseline' ? base.runs : cand.runs
      if (measured < side.runs.length) {
        warnings.push(
          `${which}: only ${measured} of its ${side.runs.length} runs measured ${transport}`,
        )
      }
    }
    // A transport some runs did not measure (it failed there) may be too thin to bootstrap.
    const withInterval = bootstrapped && Math.min(base.runs, cand.runs) >= MIN_RUNS_FOR_CONFIDENCE
    if (bootstrapped && !withInterval) {
      judgedByNoise = true
      warnings.push(
        `${transport}: fewer than ${MIN_RUNS_FOR_CONFIDENCE} runs measured it on a side, so its means are judged against the ±${formatPercent(noiseRatio)} noise band`,
      )
    }
    const changes: MetricChange[] = []
    for (const metric of COMPARED_METRIC_NAMES) {
      const baseValues = base.perMetric.get(metric)
      const candValues = cand.perMetric.get(metric)
      if (baseValues === undefined || candValues === undefined) continue
      changes.push(
        withInterval
          ? intervalChange(metric, baseValues, candValues, bootstrapOptions)
          : change(metric, meanOf(baseValues), meanOf(candValues), noiseRatio),
      )
    }
    // Every run's intervals added up: the set's latency distribution, exactly.
    transports.push(
      transportComparison(
        transport,
        changes,
        sumIntervals(base.intervals),
        sumIntervals(cand.intervals),
      ),
    )
  }
  return {
    baseline: setRef(baseline),
    candidate: setRef(candidate),
    noiseRatio: judgedByNoise ? noiseRatio : null,
    sets: {
      baselineRuns: baseline.runs.length,
      candidateRuns: candidate.runs.length,
      bootstrap: bootstrapped
        ? {
            resamples: bootstrapOptions.resamples,
            confidence: bootstrapOptions.confidence,
            seed: bootstrapOptions.seed,
          }
        : null,
    },
    workloadDifferences: differences,
    warnings,
    ...transportsPart(lineup, transports),
  }
}

function runCount(n: number): string {
  return n === 1 ? '1 run' : `${n} runs`
}

/** The interval's percentage, as the column heading and the verdict say it: 95%. */
function confidenceLabel(confidence: number): string {
  return formatPercent(confidence)
}

/** Whether the changes carry bootstrap intervals (two sets large enough). */
function withIntervals(comparison: Comparison): boolean {
  return comparison.sets?.bootstrap != null
}

function columns(comparison: Comparison): string[] {
  if (comparison.sets === null) {
    return ['metric', 'baseline', 'candidate', 'change', 'relative', 'verdict']
  }
  const head = ['metric', 'baseline mean', 'candidate mean', 'change', 'relative']
  const bootstrap = comparison.sets.bootstrap
  if (bootstrap !== null) head.push(`${confidenceLabel(bootstrap.confidence)} interval`)
  head.push('verdict')
  return head
}

/** The relative change's interval, or the change's itself where the baseline has a mean of 0. */
function formatInterval(entry: MetricChange): string {
  const interval = entry.interval
  if (interval === undefined) return ''
  if (interval.relativeLow !== null && interval.relativeHigh !== null) {
    if (interval.relativeLow === interval.relativeHigh) return formatRelative(interval.relativeLow)
    return `${formatRelative(interval.relativeLow)} … ${formatRelative(interval.relativeHigh)}`
  }
  // Every run alike on both sides (no loss anywhere): the interval is that one value.
  if (interval.deltaLow === interval.deltaHigh) return formatDelta(entry.metric, interval.deltaLow)
  return `${formatDelta(entry.metric, interval.deltaLow)} … ${formatDelta(entry.metric, interval.deltaHigh)}`
}

/** A judged change that stayed within its interval's reach of zero reads as what it is. */
export const NO_SIGNIFICANT_CHANGE = 'no significant change'

function verdictCell(entry: MetricChange): string {
  if (!isJudged(entry.metric)) return ''
  if (entry.interval !== undefined && entry.verdict === 'same') return NO_SIGNIFICANT_CHANGE
  return entry.verdict
}

function cells(comparison: Comparison, entry: MetricChange): string[] {
  const row = [
    entry.metric,
    formatValue(entry.metric, entry.baseline),
    formatValue(entry.metric, entry.candidate),
    formatDelta(entry.metric, entry.delta),
    formatRelative(entry.relative),
  ]
  if (withIntervals(comparison)) row.push(formatInterval(entry))
  row.push(verdictCell(entry))
  return row
}

function refLine(label: string, ref: RunRef): string {
  const runs = ref.runs === undefined ? '' : `, ${ref.runs} runs`
  return `${label}${ref.runId} (${ref.scenario}, commit ${ref.commit}${runs})`
}

/** The last line: the verdict and what it was judged against. */
function verdictLine(comparison: Comparison): string {
  const bootstrap = comparison.sets?.bootstrap ?? null
  const noiseRatio = comparison.noiseRatio
  if (bootstrap === null) {
    const noise = formatPercent(noiseRatio ?? DEFAULT_NOISE_RATIO)
    const means =
      comparison.sets === null ? '' : ' (means of the sets, too few runs for an interval)'
    return comparison.regression
      ? `REGRESSION (beyond ±${noise} noise)${means}`
      : `no regression beyond ±${noise} noise${means}`
  }
  const sets = comparison.sets!
  const noise =
    noiseRatio === null
      ? ''
      : `; ±${formatPercent(noiseRatio)} noise where a transport had too few runs`
  const how = `bootstrap over ${sets.baselineRuns} and ${sets.candidateRuns} runs, ${bootstrap.resamples.toLocaleString('en-US')} resamples, seed ${bootstrap.seed}${noise}`
  const interval = `${confidenceLabel(bootstrap.confidence)} interval`
  if (comparison.regression) {
    return `REGRESSION: a figure's ${interval} lies wholly on the worse side of zero (${how})`
  }
  const improved = comparison.transports.some((t) =>
    t.changes.some((entry) => isJudged(entry.metric) && entry.verdict === 'better'),
  )
  return improved
    ? `no regression: no figure's ${interval} lies wholly on the worse side of zero, some on the better (${how})`
    : `${NO_SIGNIFICANT_CHANGE}: every figure's ${interval} holds zero (${how})`
}

/** Per transport a table of metric, baseline, candidate, change, relative change and verdict. */
export function formatComparison(comparison: Comparison): string {
  const parts = [
    refLine('baseline  ', comparison.baseline),
    refLine('candidate ', comparison.candidate),
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
        columns(comparison),
        transport.changes.map((entry) => cells(comparison, entry)),
      )}`,
    )
  }
  if (comparison.onlyInBaseline.length > 0)
    blocks.push(`only in baseline: ${comparison.onlyInBaseline.join(', ')}`)
  if (comparison.onlyInCandidate.length > 0)
    blocks.push(`only in candidate: ${comparison.onlyInCandidate.join(', ')}`)
  const verdict = verdictLine(comparison)
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
  const head = columns(comparison)
    .map((column) => `<th>${escapeHtml(column)}</th>`)
    .join('')
  const tables = comparison.transports.map((transport) => {
    const rows = transport.changes
      .map((entry) => {
        const row = cells(comparison, entry)
        const verdict = row.pop() ?? ''
        const failed = entry.verdict === 'worse' && isJudged(entry.metric)
        return `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}<td class="${failed ? 'failed' : ''}">${escapeHtml(verdict)}</td></tr>`
      })
      .join('')
    return `<h2>${escapeHtml(transportLabel(transport.transport))}${transport.regression ? ' <span class="failed">REGRESSION</span>' : ''}</h2>
<table class="summary"><tr>${head}</tr>${rows}</table>`
  })
  const ref = (label: string, run: RunRef) =>
    `<tr><td>${escapeHtml(label)}</td><td>${escapeHtml(`${run.runId} — ${run.scenario}, commit ${run.commit}, ${run.startedAt}${run.runs === undefined ? '' : `, ${run.runs} runs`} (${run.dir})`)}</td></tr>`
  const body = `<h1>tickstorm compare <span class="${comparison.regression ? 'failed' : 'passed'}">${comparison.regression ? 'REGRESSION' : 'NO REGRESSION'}</span></h1>
<table class="meta">${ref('baseline', comparison.baseline)}${ref('candidate', comparison.candidate)}</table>
${workloadWarningHtml(comparison.workloadDifferences)}
${comparison.warnings.map((warning) => `<div class="invalid">${escapeHtml(warning)}</div>`).join('\n')}
${tables.join('\n')}
<p>${escapeHtml(verdictLine(comparison))}</p>`
  const page = { title: 'tickstorm compare', bodyHtml: body, charts: [chart] }
  return renderPage(options.assets ? { ...page, assets: options.assets } : page)
}
