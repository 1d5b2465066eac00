/**
 * Per-symbol prices (market-data.md §4.1 step 5, §4.2): a log price X_i advanced at each of the
 * symbol's quote events by the exact geometric-Brownian step over the business time elapsed since
 * its previous one, mapped to the tick grid as a two-sided quote.
 *
 *   ΔX = β_i·ΔF + σ_i·√ΔC·Z − ½(σ_i² + β_i²σ_m²)·ΔC + loading_i·Δdrift + Merton jumps
 *
 * ΔF and ΔC come from the market factor (so names co-move), Z and the jumps from the symbol's own
 * stream. σ_i is the instrument's idiosyncratic volatility; with σ_m = 0.16 and β ≤ 1.4 the total
 * stays within 0.21–0.65. Only quote events move X: trades print against the displayed quote, and
 * a sum of Gaussian steps has the same law however it is split, so nothing is lost.
 *
 * Floats become integers at one point only, `quote()`: bid = floor((e^X − spread/2)/tick)·tick,
 * ask = bid + spread, so ask > bid always and both sit on the grid.
 */

import { SESSION_LENGTH_US, spreadFactorAt } from './intraday.js'
import { BUSINESS_SECONDS_PER_YEAR, FRAME_US, type MarketFactor } from './market-factor.js'
import { createStream, type Rng } from './rng.js'
import { driftAt, type Scenario } from './scenario.js'
import type { Instrument, QuoteTick } from './types.js'

/** The top-100 names quote 1 tick wide w.p. 0.85, 2 ticks 0.12, 3 ticks 0.03 (§4.2). */
export const NARROW_SPREAD_RANKS = 100
/** Quote sizes are lots × (1 + Geometric(0.3)): 3.3 lots on average. */
const QUOTE_SIZE_GEOMETRIC_P = 0.3

export type SpreadModel = 'ranked' | 'tight'

export interface PriceModelOptions {
  readonly seed: number
  readonly instruments: readonly Instrument[]
  readonly factor: MarketFactor
  /** Annual volatility of the market factor. */
  readonly marketVolatility: number
  /** Multiplies every instrument's volatility (quiet: 0.5). */
  readonly volatilityScale: number
  readonly jumpsPerSession: number
  /** Standard deviation of a jump's log size. */
  readonly jumpSigma: number
  /** `tight`: every name quotes like the top 100 (the quiet preset's "mostly 1 tick"). */
  readonly spreadModel: SpreadModel
  readonly scenario: Scenario
  readonly startSimTimeUs: number
}

export interface PriceModel {
  /** Advances the symbol's log price to `tUs`; the factor must already be at `tUs`. */
  step(symbol: number, tUs: number): void
  /** Moves the symbol's log price by `logJump` at once (news). */
  jump(symbol: number, logJump: number): void
  /** The model's (unrounded) mid price in price units. */
  midUnits(symbol: number): number
  /** A quote from the current log price; the only place floats are rounded to the grid. */
  quote(
    symbol: number,
    seq: number,
    tUs: number,
    spreadMultiplier: number,
    sizeMultiplier: number,
  ): QuoteTick
}

// Per-symbol state, interleaved: a symbol's fields share two cache lines instead of sitting in a
// dozen arrays. At 8,000 names the state outgrows the caches and every event hits a random name.
const LOG_PRICE = 0
const LAST_CLOCK = 1
const LAST_LEVEL = 2
const LAST_DRIFT = 3
const NEXT_JUMP_US = 4
const SIGMA = 5
const BETA = 6
const ITO_PER_SEC = 7
const DRIFT_LOADING = 8
const SPREAD_BP = 9
const TICK = 10
const LOT = 11
const NARROW = 12
const STRIDE = 16

export function createPriceModel(options: PriceModelOptions): PriceModel {
  const { instruments, factor, scenario } = options
  const count = instruments.length
  const rngs: Rng[] = instruments.map((i) => createStream(options.seed, `price:${i.symbol}`))
  const state = new Float64Array(count * STRIDE)

  const marketSigma = options.marketVolatility / Math.sqrt(BUSINESS_SECONDS_PER_YEAR)
  const jumpRatePerUs = options.jumpsPerSession / SESSION_LENGTH_US
  const hasDrift = scenario.drift.length > 0
  for (let i = 0; i < count; i++) {
    const instrument = instruments[i]!
    const base = i * STRIDE
    const sigma =
      (instrument.volatility * options.volatilityScale) / Math.sqrt(BUSINESS_SECONDS_PER_YEAR)
    state[base + LOG_PRICE] = Math.log(instrument.startPrice)
    state[base + SIGMA] = sigma
    state[base + BETA] = instrument.beta
    state[base + ITO_PER_SEC] = -0.5 * (sigma ** 2 + (instrument.beta * marketSigma) ** 2)
    state[base + DRIFT_LOADING] = hasDrift ? scenario.driftLoading(i) : 0
    state[base + SPREAD_BP] = rankedSpreadBp(i + 1)
    state[base + TICK] = instrument.tickUnits
    state[base + LOT] = instrument.lotSize
    state[base + NARROW] = options.spreadModel === 'tight' || i < NARROW_SPREAD_RANKS ? 1 : 0
    state[base + NEXT_JUMP_US] =
      jumpRatePerUs > 0
        ? options.startSimTimeUs + rngs[i]!.exponential(jumpRatePerUs)
        : Number.POSITIVE_INFINITY
  }

  const jumpSigma = options.jumpSigma
  // The intraday spread factor changes slowly; one exp per 100 ms frame instead of per quote.
  let spreadFrame = -1
  let spreadFactorNow = 1

  return {
    step(symbol, tUs) {
      const rng = rngs[symbol]!
      const base = symbol * STRIDE
      let x = state[base + LOG_PRICE]!
      const dClock = factor.clock - state[base + LAST_CLOCK]!
      if (dClock > 0) {
        x +=
          state[base + BETA]! * (factor.level - state[base + LAST_LEVEL]!) +
          state[base + SIGMA]! * Math.sqrt(dClock) * rng.normal() +
          state[base + ITO_PER_SEC]! * dClock
      }
      state[base + LAST_CLOCK] = factor.clock
      state[base + LAST_LEVEL] = factor.level
      if (hasDrift) {
        const d = driftAt(scenario.drift, tUs)
        x += state[base + DRIFT_LOADING]! * (d - state[base + LAST_DRIFT]!)
        state[base + LAST_DRIFT] = d
      }
      while (state[base + NEXT_JUMP_US]! <= tUs) {
        x += jumpSigma * rng.normal()
        state[base + NEXT_JUMP_US] = state[base + NEXT_JUMP_US]! + rng.exponential(jumpRatePerUs)
      }
      state[base + LOG_PRICE] = x
    },

    jump(symbol, logJump) {
      state[symbol * STRIDE + LOG_PRICE] = state[symbol * STRIDE + LOG_PRICE]! + logJump
    },

    midUnits: (symbol) => Math.exp(state[symbol * STRIDE + LOG_PRICE]!),

    quote(symbol, seq, tUs, spreadMultiplier, sizeMultiplier) {
      const rng = rngs[symbol]!
      const base = symbol * STRIDE
      const frame = Math.floor(tUs / FRAME_US)
      if (frame !== spreadFrame) {
        spreadFrame = frame
        spreadFactorNow = spreadFactorAt(tUs)
      }
      const widen = spreadFactorNow * spreadMultiplier
      const t = state[base + TICK]!
      const mid = Math.exp(state[base + LOG_PRICE]!)
      const u = rng.uniform()
      let ticks: number
      if (state[base + NARROW] === 1) {
        const top = u < 0.85 ? 1 : u < 0.97 ? 2 : 3
        ticks = Math.max(1, Math.round(top * widen))
      } else {
        // ±25% around the rank's target so that spreads move between quotes.
        const target = state[base + SPREAD_BP]! * 1e-4 * mid * widen * (0.75 + 0.5 * u)
        ticks = Math.max(1, Math.ceil(target / t))
      }
      let bid = Math.floor((mid - (ticks * t) / 2) / t) * t
      if (bid < t) bid = t
      const lot = state[base + LOT]!
      return {
        kind: 'quote',
        symbol,
        seq,
        simTimeUs: tUs,
        bid,
        bidSize:
          lot *
          Math.max(1, Math.round((1 + rng.geometric(QUOTE_SIZE_GEOMETRIC_P)) * sizeMultiplier)),
        ask: bid + ticks * t,
        askSize:
          lot *
          Math.max(1, Math.round((1 + rng.geometric(QUOTE_SIZE_GEOMETRIC_P)) * sizeMultiplier)),
      }
    },
  }
}

/**
 * Target spread of names beyond the top 100, in basis points: 5 at rank 100 rising
 * log-linearly to 40 at rank 8,000, whatever the universe size (so a name's spread does not
 * change when the universe grows).
 */
export function rankedSpreadBp(rank: number): number {
  if (rank <= NARROW_SPREAD_RANKS) return 5
  return 5 * 8 ** (Math.log(rank / NARROW_SPREAD_RANKS) / Math.log(80))
}
