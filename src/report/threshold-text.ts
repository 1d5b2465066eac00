/**
 * A threshold's outcome as people read it, the same in the console, the verdict, JUnit and the
 * summary: `latency p(99) < 100ms: 12.3 ms`, the worst window of one judged `over:` windows, and
 * what a result before schema 6 held (an old key and its inclusive limit).
 */

import type { OutcomeUnit } from './threshold-metrics.js'

/** The parts of an outcome the text reads (a result's `thresholds[i]` is one). */
export interface OutcomeText {
  /** The metric (`latency`, `latency{transport:ws}`, …); before schema 6 an old key (`p99Ms`). */
  readonly name: string
  /** The threshold as written (results of schema version 6). */
  readonly expression?: string | undefined
  readonly limit: number
  /** The figure judged, in `unit`; NOT_MEASURED when the result did not hold it. */
  readonly actual: number
  readonly unit?: OutcomeUnit | undefined
  readonly overSec?: number | undefined
  readonly worstWindowAtSec?: number | undefined
  readonly passed: boolean
}

/** The `actual` of a threshold whose figure the result did not hold (it then fails). */
export const NOT_MEASURED = -1

/** Whether an outcome's figure was missing (see NOT_MEASURED). */
export function notMeasured(outcome: Pick<OutcomeText, 'actual' | 'passed'>): boolean {
  return outcome.actual === NOT_MEASURED && !outcome.passed
}

/** The old keys, as results before schema 6 name their outcomes: their unit and sense. */
const LEGACY_TEXT: Readonly<
  Record<string, { readonly label: string; readonly unit: OutcomeUnit; readonly floor: boolean }>
> = {
  p99Ms: { label: 'p99', unit: 'ms', floor: false },
  maxLossRatio: { label: 'loss', unit: 'ratio', floor: false },
  maxErrorRate: { label: 'error rate', unit: 'ratio', floor: false },
  minDeliveriesPerSec: { label: 'deliveries/s', unit: 'perSec', floor: true },
}

/** `latency p(99) < 100ms` (`over 10s` added), or an old key as `p99Ms ≤ 50`. */
export function thresholdLabel(outcome: OutcomeText): string {
  if (outcome.expression === undefined) {
    const legacy = LEGACY_TEXT[outcome.name]
    return `${outcome.name} ${legacy?.floor === true ? '≥' : '≤'} ${outcome.limit}`
  }
  const over = outcome.overSec === undefined ? '' : ` over ${formatSeconds(outcome.overSec)}`
  return `${outcome.name} ${outcome.expression}${over}`
}

/**
 * The measured figure, with where it came from: `12.3 ms`, `0.2 % (worst 10 s window, from
 * 23 s)`, `not measured`.
 */
export function actualText(outcome: OutcomeText): string {
  if (notMeasured(outcome)) return 'not measured'
  const unit = outcome.unit ?? LEGACY_TEXT[outcome.name]?.unit
  const value = formatValue(outcome.actual, unit)
  if (outcome.overSec === undefined || outcome.worstWindowAtSec === undefined) return value
  return `${value} (worst ${formatSeconds(outcome.overSec)} window, from ${formatSeconds(outcome.worstWindowAtSec)})`
}

/** `latency p(99) < 100ms: 132.4 ms`, or for an old key, as before 6: `p99 412.0 ms > 100 ms`. */
export function describeOutcome(outcome: OutcomeText): string {
  const legacy = outcome.expression === undefined ? LEGACY_TEXT[outcome.name] : undefined
  if (legacy === undefined) return `${thresholdLabel(outcome)}: ${actualText(outcome)}`
  const sense = outcome.passed ? (legacy.floor ? '≥' : '≤') : legacy.floor ? '<' : '>'
  const value = (v: number): string =>
    legacy.unit === 'ms'
      ? `${v.toFixed(1)} ms`
      : legacy.unit === 'ratio'
        ? `${Number((v * 100).toPrecision(3))} %`
        : Math.round(v).toLocaleString('en-US')
  // The limit as written in the file (`> 100 ms`), the figure as measured (`412.0 ms`).
  const limit = legacy.unit === 'ms' ? `${outcome.limit} ms` : value(outcome.limit)
  return `${legacy.label} ${value(outcome.actual)} ${sense} ${limit}`
}

/** A figure in an outcome's unit, as people read it: `132.4 ms`, `1.2 %`, `51,203/s`. */
export function formatValue(value: number, unit: OutcomeUnit | undefined): string {
  switch (unit) {
    case 'ms':
      return `${round(value)} ms`
    case 'ratio':
      return `${round(value * 100)} %`
    case 'perSec':
      return `${Math.round(value).toLocaleString('en-US')}/s`
    case 'count':
      return Math.round(value).toLocaleString('en-US')
    default:
      return String(round(value))
  }
}

/** `10 s`, `2.2 s`, `90 s`: seconds as a duration is read, to a tenth (reports come each second). */
export function formatSeconds(seconds: number): string {
  return `${Math.round(seconds * 10) / 10} s`
}

/** Three significant figures below 100, one decimal above, no trailing zeros. */
function round(value: number): number {
  if (value === 0 || !Number.isFinite(value)) return value
  return Math.abs(value) >= 100 ? Math.round(value * 10) / 10 : Number(value.toPrecision(3))
}
