/**
 * `abortOnFail`, judged while the run goes: each progress report's live window (what the pools
 * measured since the measurement began, merged) is read for every threshold that may stop the
 * run, once its `delayAbortEval` has passed. A threshold with `over:` is judged on the last
 * `over` seconds of reports (kept here as the per-report spans), and only once that much was
 * measured, as the end judges whole windows; one without, on everything so far, as the end
 * would judge it. Nothing of the ramp or the warm-up counts.
 */

import type { Histogram } from 'hdr-histogram-js'
import type { LiveWindow } from './live.js'
import { emptyHistogram, type MetricCounters, type TransportName } from './measurements.js'
import { holds } from './threshold-expression.js'
import { type Reading, readTime, readWindow, type ThresholdRule } from './threshold-rule.js'

/** A threshold that stopped the run: which, and after how many seconds of measurement. */
export interface LiveFailure {
  readonly rule: ThresholdRule
  /** `latency p(99) < 100ms`: the metric (with its tag) and the expression. */
  readonly threshold: string
  /** Seconds since the measurement began. */
  readonly atSec: number
  /** The figure that failed, in the rule's unit. */
  readonly actual: number
}

export interface LiveJudge {
  /** Reads one report's live window; the first threshold that failed, once (null otherwise). */
  readonly observe: (live: LiveWindow) => LiveFailure | null
}

/** One report's span: about a second of what the pools measured. */
interface Slice {
  readonly latency: Histogram
  readonly counters: MetricCounters
  readonly sec: number
}

/**
 * What a window is short of before it counts as whole: reports come about once a second, so a
 * window of 10 s is judged once its spans add up to 9.5 s.
 */
const WHOLE_SLACK_SEC = 0.5

/** A judge of the `abortOnFail` rules that apply to `transport`; null when there are none. */
export function createLiveJudge(
  rules: readonly ThresholdRule[],
  transport: TransportName,
): LiveJudge | null {
  const watched = rules.filter(
    (rule) => rule.abortOnFail && (rule.transport === null || rule.transport === transport),
  )
  if (watched.length === 0) return null
  const keepSec = Math.max(0, ...watched.map((rule) => rule.overSec ?? 0))
  const slices: Slice[] = []
  let windowStartMs: number | null = null
  let fired = false
  return {
    observe(live) {
      if (fired) return null
      if (!live.measuring) return null
      // A new measurement window (the next step of a capacity search) starts the spans again.
      if (live.startMs !== windowStartMs) {
        windowStartMs = live.startMs
        slices.length = 0
      }
      if (keepSec > 0 && live.lastSec > 0) {
        const latency = emptyHistogram()
        latency.add(live.lastLatencyUs)
        slices.push({ latency, counters: { ...live.lastCounters }, sec: live.lastSec })
        while (slices.length > 1 && sumSec(slices.slice(1)) >= keepSec) slices.shift()
      }
      for (const rule of watched) {
        if (live.sec < rule.delayAbortEvalSec) continue
        const actual = liveReading(rule, live, slices)
        if (actual === undefined || holds(actual, rule.operator, rule.limit)) continue
        fired = true
        return { rule, threshold: `${rule.name} ${rule.expression}`, atSec: live.sec, actual }
      }
      return null
    },
  }
}

function liveReading(
  rule: ThresholdRule,
  live: LiveWindow,
  slices: readonly Slice[],
): number | undefined {
  if (rule.overSec !== null) {
    const members: Slice[] = []
    for (
      let i = slices.length - 1;
      i >= 0 && sumSec(members) < rule.overSec - WHOLE_SLACK_SEC;
      i--
    ) {
      members.unshift(slices[i]!)
    }
    if (sumSec(members) < rule.overSec - WHOLE_SLACK_SEC) return undefined
    const counters = { ...members[0]!.counters }
    for (const member of members.slice(1)) {
      for (const key of Object.keys(counters) as (keyof MetricCounters)[]) {
        counters[key] += member.counters[key]
      }
    }
    const latency = rule.metric === 'latency' ? emptyHistogram() : undefined
    for (const member of members) latency?.add(member.latency)
    return figureOf(readWindow(rule, { counters, sec: sumSec(members), latency }))
  }
  switch (rule.metric) {
    case 'connect':
      return figureOf(
        readTime({ percentiles: undefined, histogram: () => live.connectTimeUs }, rule.aggregation),
      )
    case 'recovery':
      return figureOf(
        readTime({ percentiles: undefined, histogram: () => live.recoveryUs }, rule.aggregation),
      )
    default:
      return figureOf(
        readWindow(rule, { counters: live.counters, sec: live.sec, latency: live.latencyUs }),
      )
  }
}

function figureOf(reading: Reading): number | undefined {
  return 'value' in reading ? reading.value : undefined
}

function sumSec(slices: readonly Slice[]): number {
  return slices.reduce((sum, slice) => sum + slice.sec, 0)
}
