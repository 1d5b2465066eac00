/**
 * What a preset changes over time, as plain data (market-data.md §4.4), and the few pure
 * functions that evaluate it. Every effect is a function of simulated time only, never of how the
 * market is driven, which is what keeps the output independent of pacing.
 */

import { sessionIndexAt, sinceOpenUs } from './intraday.js'

/**
 * A multiplier 1 + (peak − 1)·e^(−(t − fromUs)/decayUs) on [fromUs, toUs), 1 elsewhere;
 * `decayUs: Infinity` makes it a constant `peak`. With `daily`, `fromUs`/`toUs` are offsets from
 * the open and the effect recurs every session (the 15:50 imbalance burst).
 */
export interface Envelope {
  /** Instrument index it applies to, or -1 for every instrument. */
  readonly symbol: number
  readonly fromUs: number
  readonly toUs: number
  readonly peak: number
  readonly decayUs: number
  readonly daily?: boolean
}

/** A value in force on [fromUs, toUs), overriding the default there. */
export interface Step {
  readonly fromUs: number
  readonly toUs: number
  readonly value: number
}

/** A symbol-specific self-exciting burst on top of the market-wide process (news, reopening). */
export interface Burst {
  readonly symbol: number
  readonly fromUs: number
  /** Expected extra events/s at `fromUs`, including the events it triggers. */
  readonly extraRatePerSec: number
  readonly decayUs: number
  readonly branchingRatio: number
}

/** The market factor's scheduled drift: log level moves linearly from `fromLog` to `toLog`. */
export interface DriftSegment {
  readonly fromUs: number
  readonly toUs: number
  readonly fromLog: number
  readonly toLog: number
}

export type ScenarioAction =
  | {
      readonly kind: 'halt'
      readonly atUs: number
      readonly symbol: number
      readonly reason: string
    }
  | { readonly kind: 'resume'; readonly atUs: number; readonly symbol: number }
  | {
      readonly kind: 'jump'
      readonly atUs: number
      readonly symbol: number
      readonly logJump: number
      /** Names that move with it (sector peers), each by its own log jump. */
      readonly peers: readonly { readonly symbol: number; readonly logJump: number }[]
    }

export interface Scenario {
  /** Multipliers of the market-wide arrival rate (symbol is always -1 here). */
  readonly rate: readonly Envelope[]
  /** Branching ratio overrides of the market-wide process. */
  readonly branching: readonly Step[]
  readonly spread: readonly Envelope[]
  readonly quoteSize: readonly Envelope[]
  readonly tradeSize: readonly Envelope[]
  /** Probability that a trade is a sell, overriding the sign chain. */
  readonly sellProbability: readonly Step[]
  /** Windows with quotes only (pre-open). */
  readonly quoteOnly: readonly Step[]
  readonly bursts: readonly Burst[]
  readonly actions: readonly ScenarioAction[]
  readonly drift: readonly DriftSegment[]
  /** How strongly each instrument follows `drift` (1 = like the market). */
  readonly driftLoading: (index: number) => number
  /** Limit Up–Limit Down bands: a quote outside its band halts the name for five minutes. */
  readonly luld: boolean
}

export const EMPTY_SCENARIO: Scenario = Object.freeze({
  rate: [],
  branching: [],
  spread: [],
  quoteSize: [],
  tradeSize: [],
  sellProbability: [],
  quoteOnly: [],
  bursts: [],
  actions: [],
  drift: [],
  driftLoading: () => 1,
  luld: false,
})

function localTime(e: Envelope, tUs: number): number {
  return e.daily === true ? sinceOpenUs(tUs) : tUs
}

function valueAtLocal(e: Envelope, local: number): number {
  if (local < e.fromUs || local >= e.toUs) return 1
  if (e.decayUs === Number.POSITIVE_INFINITY) return e.peak
  return 1 + (e.peak - 1) * Math.exp(-(local - e.fromUs) / e.decayUs)
}

export function envelopeAt(e: Envelope, tUs: number): number {
  return valueAtLocal(e, localTime(e, tUs))
}

/**
 * An upper bound of the envelope over [fromUs, toUs]. Within its window it is monotone, so the
 * maximum is at an end of the overlap; outside it is 1.
 */
export function envelopeMaxBetween(e: Envelope, fromUs: number, toUs: number): number {
  let lo = fromUs
  let hi = toUs
  if (e.daily === true) {
    if (sessionIndexAt(fromUs) !== sessionIndexAt(toUs)) return Math.max(1, e.peak)
    lo = sinceOpenUs(fromUs)
    hi = lo + (toUs - fromUs)
  }
  // The interval is closed, the window half-open.
  if (hi < e.fromUs || lo >= e.toUs) return 1
  const start = Math.max(lo, e.fromUs)
  const end = Math.min(hi, e.toUs)
  let max = valueAtLocal(e, start)
  // The limit at the window's end, reached from inside.
  const atEnd =
    e.decayUs === Number.POSITIVE_INFINITY
      ? e.peak
      : 1 + (e.peak - 1) * Math.exp(-(end - e.fromUs) / e.decayUs)
  if (atEnd > max) max = atEnd
  if ((lo < e.fromUs || hi >= e.toUs) && max < 1) max = 1
  return max
}

/** The product of the envelopes that apply to `symbol` (or to every symbol) at `tUs`. */
export function productAt(list: readonly Envelope[], symbol: number, tUs: number): number {
  let product = 1
  for (let i = 0; i < list.length; i++) {
    const e = list[i]!
    if (e.symbol === -1 || e.symbol === symbol) product *= envelopeAt(e, tUs)
  }
  return product
}

/** An upper bound of the product of all envelopes over [fromUs, toUs]. */
export function productMaxBetween(list: readonly Envelope[], fromUs: number, toUs: number): number {
  let product = 1
  for (const e of list) product *= envelopeMaxBetween(e, fromUs, toUs)
  return product
}

export function stepAt(steps: readonly Step[], tUs: number, fallback: number): number {
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!
    if (tUs >= s.fromUs && tUs < s.toUs) return s.value
  }
  return fallback
}

/** The smallest value in force anywhere in [fromUs, toUs]. */
export function stepMinBetween(
  steps: readonly Step[],
  fromUs: number,
  toUs: number,
  fallback: number,
): number {
  let min = fallback
  for (const s of steps) {
    if (s.fromUs <= toUs && s.toUs > fromUs && s.value < min) min = s.value
  }
  return min
}

/** The scheduled drift level at `tUs` (0 before the first segment, held after the last). */
export function driftAt(segments: readonly DriftSegment[], tUs: number): number {
  let level = 0
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!
    if (tUs < s.fromUs) return level
    if (tUs < s.toUs)
      return s.fromLog + ((s.toLog - s.fromLog) * (tUs - s.fromUs)) / (s.toUs - s.fromUs)
    level = s.toLog
  }
  return level
}
