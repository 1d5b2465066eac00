/**
 * The eight scenario presets of market-data.md §4.4: a parameter set each, plus the time-scheduled
 * effects of the ones that tell a story. Effects happen once, at fixed offsets from the preset's
 * start; after them the market carries on as a normal day. Choices of ours (start times, which
 * name is hit, how long an effect lasts where §4.4 does not say) are marked as such.
 */

import { activityAt } from './intraday.js'
import type { SpreadModel } from './price-model.js'
import { hashUnit, type Rng } from './rng.js'
import { EMPTY_SCENARIO, type Scenario } from './scenario.js'
import { type PresetName, SESSION_OPEN_US } from './types.js'

export const PRESET_NAMES: readonly PresetName[] = Object.freeze([
  'quiet',
  'normal',
  'open-burst',
  'close',
  'news-spike',
  'flash-crash',
  'halt-resume',
  'stress',
])

export interface PresetParams {
  readonly name: PresetName
  /** Where simulated time starts (µs since midnight). */
  readonly startSimTimeUs: number
  readonly defaultSymbols: number
  /** λ̄, the midday mean event rate, for `referenceSymbols` names; it scales as N^0.8. */
  readonly referenceRatePerSec: number
  readonly referenceSymbols: number
  /** Hawkes branching ratio n (share of events triggered by earlier ones). */
  readonly branchingRatio: number
  /** Hawkes kernel decay β. */
  readonly kernelDecayPerSec: number
  /** r in trade:quote = r:1; an event is a quote w.p. 1/(1 + r). */
  readonly tradesPerQuote: number
  /** ρ and K of the symbol stickiness. */
  readonly stickiness: number
  readonly stickyMemory: number
  readonly marketVolatility: number
  readonly volatilityScale: number
  readonly jumpsPerSession: number
  readonly jumpSigma: number
  readonly spreadModel: SpreadModel
  /** Opening and closing crosses and the 15:50 imbalance burst, every session. */
  readonly auctions: boolean
}

const US_PER_SECOND = 1_000_000
const US_PER_MINUTE = 60 * US_PER_SECOND

/** µs since midnight for a wall-clock time of the first simulated day. */
export function clockTimeUs(hours: number, minutes: number, seconds = 0): number {
  return ((hours * 60 + minutes) * 60 + seconds) * US_PER_SECOND
}

const NORMAL: PresetParams = Object.freeze({
  name: 'normal',
  // Half an hour after the open: the opening rush is fading and a demo sees a lively market
  // at once. The next open comes 6 h later, at 16:00 of simulated time.
  startSimTimeUs: clockTimeUs(10, 0),
  defaultSymbols: 500,
  referenceRatePerSec: 2000,
  referenceSymbols: 500,
  branchingRatio: 0.7,
  kernelDecayPerSec: 20,
  tradesPerQuote: 0.25,
  stickiness: 0.3,
  stickyMemory: 8,
  marketVolatility: 0.16,
  volatilityScale: 1,
  jumpsPerSession: 0.2,
  jumpSigma: 0.03,
  spreadModel: 'ranked',
  auctions: true,
})

export const PRESETS: Readonly<Record<PresetName, PresetParams>> = Object.freeze({
  quiet: Object.freeze({
    ...NORMAL,
    name: 'quiet',
    // Midday lull, the quietest time of the day (ours).
    startSimTimeUs: clockTimeUs(12, 30),
    referenceRatePerSec: NORMAL.referenceRatePerSec * 0.2,
    branchingRatio: 0.3,
    volatilityScale: 0.5,
    jumpsPerSession: 0,
    spreadModel: 'tight',
    auctions: false,
  }),
  normal: NORMAL,
  'open-burst': Object.freeze({
    ...NORMAL,
    name: 'open-burst',
    startSimTimeUs: clockTimeUs(9, 29, 30),
  }),
  close: Object.freeze({ ...NORMAL, name: 'close', startSimTimeUs: clockTimeUs(15, 45) }),
  'news-spike': Object.freeze({ ...NORMAL, name: 'news-spike' }),
  // 14:30: two minutes of normal trading before the crash, near 2010's 14:32 (ours).
  'flash-crash': Object.freeze({
    ...NORMAL,
    name: 'flash-crash',
    startSimTimeUs: clockTimeUs(14, 30),
  }),
  'halt-resume': Object.freeze({ ...NORMAL, name: 'halt-resume' }),
  stress: Object.freeze({
    ...NORMAL,
    name: 'stress',
    defaultSymbols: 8000,
    referenceRatePerSec: 50_000,
    referenceSymbols: 8000,
    branchingRatio: 0.8,
  }),
})

/** λ̄ for a universe of `symbols` names: ∝ N^0.8 (§4.2), anchored at the preset's reference. */
export function meanRateFor(preset: PresetParams, symbols: number): number {
  return preset.referenceRatePerSec * (symbols / preset.referenceSymbols) ** 0.8
}

export interface ScenarioContext {
  readonly preset: PresetParams
  readonly seed: number
  readonly symbols: number
  readonly meanRatePerSec: number
  /** Each name's long-run share of market-wide events. */
  readonly shares: Float64Array
  /** The scenario stream: which name the news hits, how far it moves. */
  readonly rng: Rng
}

/** The preset's time-scheduled effects. */
export function buildScenario(context: ScenarioContext): Scenario {
  switch (context.preset.name) {
    case 'open-burst':
      return openBurst()
    case 'news-spike':
      return newsSpike(context)
    case 'flash-crash':
      return flashCrash(context)
    case 'halt-resume':
      return haltResume(context)
    default:
      return EMPTY_SCENARIO
  }
}

/**
 * Pre-open quotes only (at 5% of the rate), the opening cross at 09:30:00, then λ × 10 decaying
 * with τ = 2 min, spreads × 3 decaying with τ = 5 min, n = 0.85 for the first minute.
 */
function openBurst(): Scenario {
  const start = PRESETS['open-burst'].startSimTimeUs
  const open = SESSION_OPEN_US
  return defineScenario({
    ...EMPTY_SCENARIO,
    rate: [
      { symbol: -1, fromUs: start, toUs: open, peak: 0.05, decayUs: Number.POSITIVE_INFINITY },
      // Cut after 15 τ: the envelope is then 1 + 9·e^-15 ≈ 1.000003.
      {
        symbol: -1,
        fromUs: open,
        toUs: open + 30 * US_PER_MINUTE,
        peak: 10,
        decayUs: 2 * US_PER_MINUTE,
      },
    ],
    spread: [
      {
        symbol: -1,
        fromUs: open,
        toUs: open + 75 * US_PER_MINUTE,
        peak: 3,
        decayUs: 5 * US_PER_MINUTE,
      },
    ],
    branching: [{ fromUs: open, toUs: open + US_PER_MINUTE, value: 0.85 }],
    quoteOnly: [{ fromUs: start, toUs: open, value: 1 }],
  })
}

/**
 * At T0 = start + 30 s a name X among ranks 2–20 (ours) jumps ±5–10%; five names of the top 100
 * (its "sector", ours) move with β = 0.3; X's weight × 20 decays with τ = 5 min as its own
 * Hawkes burst with n = 0.9; its spread × 3 for 30 s and its trade sizes × 2 for 5 min (ours).
 */
function newsSpike(context: ScenarioContext): Scenario {
  const { rng, symbols } = context
  const t0 = context.preset.startSimTimeUs + 30 * US_PER_SECOND
  const x = pickHeadName(rng, symbols)
  const move = (rng.uniform() < 0.5 ? -1 : 1) * (0.05 + 0.05 * rng.uniform())
  const logJump = Math.log1p(move)
  const peers: { symbol: number; logJump: number }[] = []
  const pool = Math.min(100, symbols)
  for (let attempt = 0; peers.length < Math.min(5, pool - 1) && attempt < 1000; attempt++) {
    const peer = rng.int(pool)
    if (peer !== x && !peers.some((p) => p.symbol === peer)) {
      peers.push({ symbol: peer, logJump: 0.3 * logJump })
    }
  }
  return defineScenario({
    ...EMPTY_SCENARIO,
    actions: [{ kind: 'jump', atUs: t0, symbol: x, logJump, peers }],
    bursts: [burstFor(context, x, t0, 5 * US_PER_MINUTE)],
    spread: [
      {
        symbol: x,
        fromUs: t0,
        toUs: t0 + 30 * US_PER_SECOND,
        peak: 3,
        decayUs: Number.POSITIVE_INFINITY,
      },
    ],
    tradeSize: [
      {
        symbol: x,
        fromUs: t0,
        toUs: t0 + 5 * US_PER_MINUTE,
        peak: 2,
        decayUs: Number.POSITIVE_INFINITY,
      },
    ],
  })
}

/**
 * T0 = 14:32. For 4 min: the market drifts to −6% (names beyond the top 100 to −10…−15%), trades
 * are sells w.p. 0.9, λ × 8 with n = 0.95, quote sizes × 0.2, spreads × 10. Over the next 16 min
 * 80% of the fall is recovered. LULD is on: names whose quotes leave their band halt for 5 min
 * (the `luld: false` variant with stub prints is not offered).
 */
function flashCrash(context: ScenarioContext): Scenario {
  const t0 = context.preset.startSimTimeUs + 2 * US_PER_MINUTE
  const t1 = t0 + 4 * US_PER_MINUTE
  const t2 = t1 + 16 * US_PER_MINUTE
  const constant = Number.POSITIVE_INFINITY
  const trough = Math.log(0.94)
  const { seed } = context
  return defineScenario({
    ...EMPTY_SCENARIO,
    rate: [{ symbol: -1, fromUs: t0, toUs: t1, peak: 8, decayUs: constant }],
    branching: [{ fromUs: t0, toUs: t1, value: 0.95 }],
    quoteSize: [{ symbol: -1, fromUs: t0, toUs: t1, peak: 0.2, decayUs: constant }],
    spread: [{ symbol: -1, fromUs: t0, toUs: t1, peak: 10, decayUs: constant }],
    sellProbability: [{ fromUs: t0, toUs: t1, value: 0.9 }],
    drift: [
      { fromUs: t0, toUs: t1, fromLog: 0, toLog: trough },
      { fromUs: t1, toUs: t2, fromLog: trough, toLog: 0.2 * trough },
    ],
    // Hash-derived, not drawn: a name's depth must not depend on the universe size.
    driftLoading: (index: number) =>
      index < 100
        ? 1
        : Math.log(1 - (0.1 + 0.05 * hashUnit(seed, `crash-depth:${index}`))) / trough,
    luld: true,
  })
}

/**
 * A name H among ranks 2–20 halts at start + 30 s (reason `news`), stays halted 5 min, then
 * reopens with a ±2–8% move (ours), a reopening cross and a burst (weight × 20, τ = 2 min, n = 0.9).
 */
function haltResume(context: ScenarioContext): Scenario {
  const { rng, symbols } = context
  const haltAt = context.preset.startSimTimeUs + 30 * US_PER_SECOND
  const resumeAt = haltAt + 5 * US_PER_MINUTE
  const h = pickHeadName(rng, symbols)
  const move = (rng.uniform() < 0.5 ? -1 : 1) * (0.02 + 0.06 * rng.uniform())
  return defineScenario({
    ...EMPTY_SCENARIO,
    actions: [
      { kind: 'halt', atUs: haltAt, symbol: h, reason: 'news' },
      { kind: 'jump', atUs: resumeAt, symbol: h, logJump: Math.log1p(move), peers: [] },
      { kind: 'resume', atUs: resumeAt, symbol: h },
    ],
    bursts: [burstFor(context, h, resumeAt, 2 * US_PER_MINUTE)],
  })
}

function defineScenario(scenario: Scenario): Scenario {
  return Object.freeze(scenario)
}

/** Ranks 2–20 (index 1–19): busy enough to see, and never AAPL, the demo's default. */
function pickHeadName(rng: Rng, symbols: number): number {
  if (symbols === 1) return 0
  return 1 + rng.int(Math.min(19, symbols - 1))
}

/** Weight × 20 means 19 × the name's normal rate on top, at the burst's start. */
function burstFor(context: ScenarioContext, symbol: number, fromUs: number, decayUs: number) {
  return {
    symbol,
    fromUs,
    extraRatePerSec: 19 * context.shares[symbol]! * context.meanRatePerSec * activityAt(fromUs),
    decayUs,
    branchingRatio: 0.9,
  }
}
