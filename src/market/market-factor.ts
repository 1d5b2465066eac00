/**
 * The market-wide part of every price (market-data.md §4.1 step 5): a business-time clock and a
 * market factor path, both advanced in 100 ms frames on their own stream.
 *
 * Business time runs at V(t)·m(t)·scenario(t)/m̄ business seconds per second: variance arrives
 * with activity (the U-shape, a crash's ×8), so a session still holds 23,400 business seconds on
 * average and σ per business second keeps its §4.2 meaning. V is a slow log-normal variance
 * factor (an Ornstein–Uhlenbeck log-variance with a 30-minute memory). It is our addition to §4.2:
 * without it, 1-minute |returns| would only be correlated through the U-shape, far below the
 * 0.2–0.3 seen in real data.
 *
 * The factor F is a driftless Brownian motion in business time with the market's σ (0.16/yr);
 * each name adds its own Itô correction for its β. A symbol reads both
 * values at its event time by linear interpolation inside the frame, so its step between two of
 * its own events is exact at the frame grid whatever the other symbols do. Frames are generated
 * in order as time passes, so their draws never depend on how the market is driven.
 */

import { activityAt, MEAN_ACTIVITY_MULTIPLIER, SESSION_LENGTH_US } from './intraday.js'
import type { Rng } from './rng.js'
import { productAt, type Scenario } from './scenario.js'

export const FRAME_US = 100_000
const FRAME_SEC = FRAME_US / 1e6
/** Sessions per year (trading days). */
export const SESSIONS_PER_YEAR = 252
/** Business seconds per year: σ_sec = σ_annual / √(252 · 23,400). */
export const BUSINESS_SECONDS_PER_YEAR = SESSIONS_PER_YEAR * (SESSION_LENGTH_US / 1e6)
/** Standard deviation of log V in its stationary law. */
const LOG_VARIANCE_SD = 0.6
const LOG_VARIANCE_MEMORY_SEC = 1800

export interface MarketFactorOptions {
  readonly rng: Rng
  readonly startSimTimeUs: number
  /** Annual volatility of the factor (0.16). */
  readonly volatility: number
  readonly scenario: Scenario
}

export interface MarketFactor {
  /** Business seconds elapsed since the start, at the time of the last `moveTo`. */
  readonly clock: number
  /** Log level of the factor at the time of the last `moveTo` (0 at the start). */
  readonly level: number
  /** Sets `clock` and `level` for `tUs`; `tUs` never decreases from one call to the next. */
  moveTo(tUs: number): void
}

export function createMarketFactor(options: MarketFactorOptions): MarketFactor {
  return new FramedMarketFactor(options)
}

class FramedMarketFactor implements MarketFactor {
  clock = 0
  level = 0
  readonly #rng: Rng
  readonly #sigmaPerSec: number
  readonly #rateEnvelopes: Scenario['rate']
  readonly #persistence = Math.exp(-FRAME_SEC / LOG_VARIANCE_MEMORY_SEC)
  readonly #innovationSd: number
  #logVariance: number
  #frameStartUs: number
  #clockAtStart = 0
  #clockAtEnd = 0
  #levelAtStart = 0
  #levelAtEnd = 0

  constructor(options: MarketFactorOptions) {
    this.#rng = options.rng
    this.#sigmaPerSec = options.volatility / Math.sqrt(BUSINESS_SECONDS_PER_YEAR)
    this.#rateEnvelopes = options.scenario.rate
    this.#innovationSd = LOG_VARIANCE_SD * Math.sqrt(1 - this.#persistence ** 2)
    // Start in the stationary law, not at its mean, so the first hour is not special.
    this.#logVariance = LOG_VARIANCE_SD * this.#rng.normal()
    this.#frameStartUs = Math.floor(options.startSimTimeUs / FRAME_US) * FRAME_US
    this.#fillFrame()
    this.moveTo(options.startSimTimeUs)
    // The clock and the level count from the start, not from the frame boundary before it.
    this.#clockAtStart -= this.clock
    this.#clockAtEnd -= this.clock
    this.#levelAtStart -= this.level
    this.#levelAtEnd -= this.level
    this.clock = 0
    this.level = 0
  }

  moveTo(tUs: number): void {
    while (tUs >= this.#frameStartUs + FRAME_US) {
      this.#frameStartUs += FRAME_US
      this.#clockAtStart = this.#clockAtEnd
      this.#levelAtStart = this.#levelAtEnd
      this.#fillFrame()
    }
    const w = (tUs - this.#frameStartUs) / FRAME_US
    this.clock = this.#clockAtStart + (this.#clockAtEnd - this.#clockAtStart) * w
    this.level = this.#levelAtStart + (this.#levelAtEnd - this.#levelAtStart) * w
  }

  /** Draws the frame that starts at #frameStartUs: its business duration and factor return. */
  #fillFrame(): void {
    const rng = this.#rng
    this.#logVariance = this.#logVariance * this.#persistence + this.#innovationSd * rng.normal()
    const variance = Math.exp(this.#logVariance - (LOG_VARIANCE_SD * LOG_VARIANCE_SD) / 2)
    const midUs = this.#frameStartUs + FRAME_US / 2
    const pace =
      (activityAt(midUs) * productAt(this.#rateEnvelopes, -1, midUs)) / MEAN_ACTIVITY_MULTIPLIER
    const businessSec = variance * pace * FRAME_SEC
    const sigma = this.#sigmaPerSec
    this.#clockAtEnd = this.#clockAtStart + businessSec
    this.#levelAtEnd = this.#levelAtStart + sigma * Math.sqrt(businessSec) * rng.normal()
  }
}
