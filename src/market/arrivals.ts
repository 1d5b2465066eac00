/**
 * When events happen: a self-exciting (Hawkes) point process with an exponential kernel
 * (market-data.md §4.1 step 2), simulated exactly by Ogata's thinning.
 *
 * Each component c has intensity λ_c(t) = μ_c(t) + E_c(t). E_c decays as e^(−βΔt) and jumps by
 * n_c(t)·β at each of its own events, so an event triggers n_c more on average, 1/β later.
 * Component 0 is the whole market (μ = λ̄·m(t)·scenario(t)·(1 − n), mean rate λ̄·m·scenario);
 * the others are symbol bursts from the scenario.
 *
 * Thinning draws candidates at a rate λ* that bounds the intensity over a window of sim time and
 * keeps each with probability λ(t)/λ*. Windows are laid end to end from the start, so the event
 * times depend on the seed only, not on how far `advanceTo` reaches per call. The per-frame
 * Poisson alternative of §4.1 would be cheaper per event but ties events to the frame grid.
 */

import { activityAt, maxActivityBetween } from './intraday.js'
import type { Rng } from './rng.js'
import {
  type Burst,
  productAt,
  productMaxBetween,
  type Scenario,
  stepAt,
  stepMinBetween,
} from './scenario.js'

export interface HawkesComponent {
  /** Immigrant intensity μ(t), events/s. */
  baselinePerSec(tUs: number): number
  /** An upper bound of μ over [fromUs, toUs]. */
  baselineBoundPerSec(fromUs: number, toUs: number): number
  /** Branching ratio in force at t (< 1). */
  branchingAt(tUs: number): number
}

export interface Arrivals {
  /** Time of the pending event in (fractional) µs; it is emitted at `Math.floor(timeUs)`. */
  readonly timeUs: number
  /** Which component produced it (0 = market-wide). */
  readonly component: number
  /** Moves to the next event. */
  next(): void
}

export interface ArrivalsOptions {
  readonly rng: Rng
  readonly startSimTimeUs: number
  /** β: the kernel's decay rate (20/s: a 50 ms mean lag between an event and its offspring). */
  readonly kernelDecayPerSec: number
  readonly components: readonly HawkesComponent[]
  /**
   * Length of a bounding window. Shorter is a tighter bound on a rising baseline but costs one
   * bound evaluation per window; at 1 s it is nothing next to thousands of events.
   */
  readonly windowUs?: number
}

export function createArrivals(options: ArrivalsOptions): Arrivals {
  if (options.components.length === 0) throw new RangeError('arrivals need a component')
  const arrivals = new HawkesArrivals(options)
  arrivals.next()
  return arrivals
}

/** The market-wide component: λ̄ · m(t) · Π rate envelopes · (1 − n(t)). */
export function createMarketComponent(
  meanRatePerSec: number,
  branchingRatio: number,
  scenario: Scenario,
): HawkesComponent {
  const { rate, branching } = scenario
  return {
    baselinePerSec: (tUs) =>
      meanRatePerSec *
      activityAt(tUs) *
      productAt(rate, -1, tUs) *
      (1 - stepAt(branching, tUs, branchingRatio)),
    baselineBoundPerSec: (fromUs, toUs) =>
      meanRatePerSec *
      maxActivityBetween(fromUs, toUs) *
      productMaxBetween(rate, fromUs, toUs) *
      (1 - stepMinBetween(branching, fromUs, toUs, branchingRatio)),
    branchingAt: (tUs) => stepAt(branching, tUs, branchingRatio),
  }
}

/** A decaying symbol burst: its immigrants are (1 − n) of its expected extra rate. */
export function createBurstComponent(burst: Burst): HawkesComponent {
  const immigrantsAtStart = burst.extraRatePerSec * (1 - burst.branchingRatio)
  const at = (tUs: number): number =>
    tUs < burst.fromUs ? 0 : immigrantsAtStart * Math.exp(-(tUs - burst.fromUs) / burst.decayUs)
  return {
    baselinePerSec: at,
    baselineBoundPerSec: (fromUs, toUs) =>
      toUs < burst.fromUs ? 0 : at(Math.max(fromUs, burst.fromUs)),
    branchingAt: () => burst.branchingRatio,
  }
}

class HawkesArrivals implements Arrivals {
  timeUs: number
  component = 0
  readonly #rng: Rng
  readonly #betaPerUs: number
  readonly #beta: number
  readonly #components: readonly HawkesComponent[]
  readonly #excitation: Float64Array
  readonly #windowUs: number
  #windowEndUs: number
  #baselineBound = 0
  /** Where the thinning has got to (the last candidate, accepted or not). */
  #nowUs: number

  constructor(options: ArrivalsOptions) {
    this.#rng = options.rng
    this.#beta = options.kernelDecayPerSec
    this.#betaPerUs = options.kernelDecayPerSec / 1e6
    this.#components = options.components
    this.#excitation = new Float64Array(options.components.length)
    this.#windowUs = options.windowUs ?? 1_000_000
    this.#nowUs = options.startSimTimeUs
    this.timeUs = options.startSimTimeUs
    this.#windowEndUs = options.startSimTimeUs
    this.#openWindow()
  }

  next(): void {
    const rng = this.#rng
    const excitation = this.#excitation
    const count = excitation.length
    for (;;) {
      let excited = 0
      for (let c = 0; c < count; c++) excited += excitation[c]!
      const bound = this.#baselineBound + excited
      const candidateUs = this.#nowUs + (bound > 0 ? rng.exponential(bound / 1e6) : Infinity)
      if (candidateUs >= this.#windowEndUs) {
        this.#decayTo(this.#windowEndUs)
        this.#openWindow()
        continue
      }
      this.#decayTo(candidateUs)
      // Accept with probability λ(t)/λ*: walk the pieces of λ(t) until v falls in one. The
      // excitation pieces come first so that most accepted events need no baseline evaluation.
      let v = rng.uniform() * bound
      let accepted = -1
      for (let c = 0; c < count; c++) {
        const e = excitation[c]!
        if (v < e) {
          accepted = c
          break
        }
        v -= e
      }
      if (accepted < 0) {
        for (let c = 0; c < count; c++) {
          const b = this.#components[c]!.baselinePerSec(candidateUs)
          if (v < b) {
            accepted = c
            break
          }
          v -= b
        }
      }
      if (accepted < 0) continue
      excitation[accepted] =
        excitation[accepted]! + this.#components[accepted]!.branchingAt(candidateUs) * this.#beta
      this.timeUs = candidateUs
      this.component = accepted
      return
    }
  }

  #decayTo(tUs: number): void {
    const factor = Math.exp(-this.#betaPerUs * (tUs - this.#nowUs))
    const excitation = this.#excitation
    for (let c = 0; c < excitation.length; c++) excitation[c] = excitation[c]! * factor
    this.#nowUs = tUs
  }

  #openWindow(): void {
    const fromUs = this.#windowEndUs
    const toUs = fromUs + this.#windowUs
    let bound = 0
    for (const component of this.#components) bound += component.baselineBoundPerSec(fromUs, toUs)
    this.#baselineBound = bound
    this.#windowEndUs = toUs
  }
}
