/**
 * The open model's draws, apart from any clock: arrivals of a Poisson process (independent
 * exponential gaps of mean 1/rate) and a session length for each. Seeded, so two runs of one
 * scenario draw the same arrivals at the same offsets with the same stays.
 */

import { createStream } from '../../market/rng.js'

export interface ArrivalSpec {
  readonly ratePerSec: number
  readonly sessionSec: {
    readonly mean: number
    readonly distribution: 'exponential' | 'fixed'
  }
  readonly seed: number
  /** Names the random streams: hosts sharing a workload (segments) draw apart. */
  readonly stream: string
}

export interface Arrival {
  /** Seconds from the schedule's start, increasing. */
  readonly atSec: number
  /** How long this subscriber stays. */
  readonly sessionSec: number
}

export interface ArrivalSchedule {
  next(): Arrival
}

export function createArrivalSchedule(spec: ArrivalSpec): ArrivalSchedule {
  // Two streams: the stays do not shift when the gaps are drawn differently, and vice versa.
  const gaps = createStream(spec.seed, `${spec.stream}/gaps`)
  const stays = createStream(spec.seed, `${spec.stream}/sessions`)
  const { mean, distribution } = spec.sessionSec
  let atSec = 0
  return {
    next() {
      atSec += gaps.exponential(spec.ratePerSec)
      const sessionSec = distribution === 'fixed' ? mean : stays.exponential(1 / mean)
      return { atSec, sessionSec }
    },
  }
}
