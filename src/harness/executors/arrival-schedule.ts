/**
 * The open model's draws, apart from any clock: arrivals of a Poisson process (independent
 * exponential gaps of mean 1/rate) and a session length for each. Seeded, so two runs of one
 * scenario draw the same arrivals at the same offsets with the same stays.
 */

import { createAliasTable } from '../../market/alias-table.js'
import { createStream } from '../../market/rng.js'
import { zipfShares } from '../../market/symbol-choice.js'

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

/** How the subscribers of an open model change their watch-lists (`arrivalRate.watchListChanges`). */
export interface WatchListChangeSpec {
  /** Mean seconds between one subscriber's changes: exponential gaps. */
  readonly everySec: number
  /** Symbols each change replaces. */
  readonly swap: number
  /** How symbols are drawn, as the watch-lists were (watch-lists.ts). */
  readonly pick: 'zipf' | 'uniform'
  readonly seed: number
  /** Names the random streams, as ArrivalSpec's does. */
  readonly stream: string
}

export interface WatchListChange {
  /** Seconds after the previous change (or the arrival). */
  readonly afterSec: number
  /** The whole new list, in the universe's order (as pickWatchLists gives them). */
  readonly symbols: readonly string[]
}

/** One subscriber's changes, drawn one at a time. */
export interface WatchListChanges {
  next(): WatchListChange
}

/** A bound on redrawing a symbol already held before falling back to a pick among the rest. */
const REDRAWS_PER_SYMBOL = 64

/**
 * Changes for any subscriber of `universe` (ordered by activity, as for pickWatchLists). The
 * zipf table is built once here and shared; each subscriber's draws come from a stream of its
 * own, named by its index, so the same seed gives every subscriber the same changes whatever
 * the others do and whichever worker holds it. Null when no change is possible: a list of
 * every symbol, or nothing outside it to swap in (the scenario check refuses both where it knows
 * the universe).
 */
export function createWatchListChanger(
  spec: WatchListChangeSpec,
  universe: readonly string[],
): ((index: number, symbols: readonly string[] | null) => WatchListChanges | null) | null {
  if (universe.length < 2) return null
  const indexOf = new Map(universe.map((symbol, index) => [symbol, index]))
  const table = spec.pick === 'zipf' ? createAliasTable(zipfShares(universe.length)) : null
  return (index, symbols) => {
    if (symbols === null) return null
    let held = symbols.map((symbol) => indexOf.get(symbol) ?? -1).filter((i) => i >= 0)
    const swap = Math.min(spec.swap, held.length, universe.length - held.length)
    if (swap <= 0) return null
    const gaps = createStream(spec.seed, `${spec.stream}/changes/${index}/gaps`)
    const picks = createStream(spec.seed, `${spec.stream}/changes/${index}/picks`)
    const draw = (): number =>
      table === null ? picks.int(universe.length) : table.pick(picks.uniform())
    return {
      next() {
        const afterSec = gaps.exponential(1 / spec.everySec)
        const holding = new Set(held)
        // Which ones go: `swap` distinct places of the list, uniformly.
        const leaving = new Set<number>()
        while (leaving.size < swap) leaving.add(held[picks.int(held.length)]!)
        // Which come: drawn as the list was, never one held now (leaving ones included).
        const coming = new Set<number>()
        for (let tries = 0; coming.size < swap && tries < REDRAWS_PER_SYMBOL * swap; tries++) {
          const candidate = draw()
          if (!holding.has(candidate)) coming.add(candidate)
        }
        if (coming.size < swap) {
          const free = universe.map((_, i) => i).filter((i) => !holding.has(i) && !coming.has(i))
          while (coming.size < swap) {
            const at = picks.int(free.length)
            coming.add(free[at]!)
            free.splice(at, 1)
          }
        }
        held = [...held.filter((i) => !leaving.has(i)), ...coming].sort((a, b) => a - b)
        return { afterSec, symbols: held.map((i) => universe[i]!) }
      },
    }
  }
}
