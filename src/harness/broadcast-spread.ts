/**
 * Broadcast spread: for one event, the time from its first receipt to its last across the
 * subscribers that should get it, the figure that says how unfair a fan-out is (a p99 latency of
 * 20 ms may be every subscriber at 20 ms, or half at 1 ms and half at 40 ms).
 *
 * Every receipt of every event would be millions of records, so events are sampled, the same ones
 * in every pool without talking: each symbol's events whose per-symbol sequence `q` is a multiple
 * of SPREAD_EVERY. A pool keeps per sample its first and last receipt and how many of its
 * subscribers received it, and how many of its subscribers watch each symbol; the coordinator
 * merges the pools (first = min, last = max, receipts summed) and compares the receipts with the
 * watchers. Only the receipt clock is involved (one host's), so clock skew plays no part.
 *
 * A receipt by replay (a subscriber that reconnected and was sent what it missed) counts as
 * received but sets neither end: how late a resumed subscriber got an event is its recovery, and
 * a drop fault would otherwise make the fan-out look as unfair as the outage was long.
 */

import { emptyHistogram, type SpreadMeasurement } from '../report/measurements.js'

/** Events of a symbol with `q % SPREAD_EVERY === 0` are sampled: 1 in 16 of each symbol's. */
export const SPREAD_EVERY = 16
/** Samples one pool keeps at most (≈ 60 B each); past it, new samples are not started (counted). */
const MAX_SAMPLES = 200_000
/** A sample is judged only once this long has passed since its first receipt (stragglers). */
const SETTLE_US = 1_000_000
/** At a reset, samples first received more than this before it are forgotten (their receipts are over). */
const KEEP_BEFORE_RESET_US = 5_000_000

/** One pool's samples, a plain object (structured-clone safe): parallel arrays, one entry per sample. */
export interface SpreadReport {
  /** Symbol names; `symbol[i]` indexes this. */
  readonly symbols: readonly string[]
  readonly symbol: readonly number[]
  readonly q: readonly number[]
  readonly firstUs: readonly number[]
  readonly lastUs: readonly number[]
  readonly receipts: readonly number[]
  /** Subscribers of this pool watching each symbol (by index in `symbols`) when it reported. */
  readonly watchers: readonly number[]
  /** Subscribers of every symbol (a null watch-list): they count for every symbol. */
  readonly watchersOfAll: number
  /** Samples not started because the pool held MAX_SAMPLES. */
  readonly overflow: number
  /** When the pool reported, epoch µs. */
  readonly atUs: number
}

interface Sample {
  firstUs: number
  lastUs: number
  receipts: number
}

/** One symbol as the pool's sampler keeps it; observers hold it on their symbol state. */
export interface SpreadSymbol {
  readonly index: number
  readonly samples: Map<number, Sample>
  watchers: number
}

export interface SpreadSampler {
  /** The pool's state for a symbol (one per symbol per pool; observers keep the handle). */
  symbol(name: string): SpreadSymbol
  /** A subscriber on these symbols (null: every symbol) started; `unwatch` when it closed. */
  watch(symbols: readonly string[] | null): void
  unwatch(symbols: readonly string[] | null): void
  /**
   * A receipt of a sampled event (the caller checked `q % SPREAD_EVERY === 0`, and that it was not
   * a duplicate for this subscriber); `live` false: it came by replay (counted, not timed).
   */
  receipt(symbol: SpreadSymbol, q: number, receiptUs: number, live: boolean): void
  /** The window began at `nowUs`: forget what is long over (the coordinator drops the rest). */
  reset(nowUs: number): void
  report(nowUs: number): SpreadReport
}

export function createSpreadSampler(): SpreadSampler {
  const symbols = new Map<string, SpreadSymbol>()
  const names: string[] = []
  let watchersOfAll = 0
  let count = 0
  let overflow = 0
  const symbol = (name: string): SpreadSymbol => {
    let state = symbols.get(name)
    if (state === undefined) {
      state = { index: names.length, samples: new Map(), watchers: 0 }
      names.push(name)
      symbols.set(name, state)
    }
    return state
  }
  const adjust = (list: readonly string[] | null, by: number): void => {
    if (list === null) watchersOfAll += by
    else for (const name of list) symbol(name).watchers += by
  }
  return {
    symbol,
    watch: (list) => adjust(list, 1),
    unwatch: (list) => adjust(list, -1),
    receipt(state, q, receiptUs, live) {
      let sample = state.samples.get(q)
      if (sample === undefined) {
        if (count >= MAX_SAMPLES) {
          overflow++
          return
        }
        count++
        sample = {
          firstUs: Number.POSITIVE_INFINITY,
          lastUs: Number.NEGATIVE_INFINITY,
          receipts: 0,
        }
        state.samples.set(q, sample)
      }
      sample.receipts++
      if (!live) return
      if (receiptUs < sample.firstUs) sample.firstUs = receiptUs
      if (receiptUs > sample.lastUs) sample.lastUs = receiptUs
    },
    reset(nowUs) {
      const before = nowUs - KEEP_BEFORE_RESET_US
      for (const state of symbols.values()) {
        for (const [q, sample] of state.samples) {
          // Replayed receipts only (no first, +∞): never judged, so nothing to keep either.
          if (sample.firstUs < before || sample.firstUs === Number.POSITIVE_INFINITY) {
            state.samples.delete(q)
            count--
          }
        }
      }
      overflow = 0
    },
    report(nowUs) {
      const out = {
        symbol: [] as number[],
        q: [] as number[],
        firstUs: [] as number[],
        lastUs: [] as number[],
        receipts: [] as number[],
      }
      for (const state of symbols.values()) {
        for (const [q, sample] of state.samples) {
          out.symbol.push(state.index)
          out.q.push(q)
          out.firstUs.push(sample.firstUs)
          out.lastUs.push(sample.lastUs)
          out.receipts.push(sample.receipts)
        }
      }
      return {
        symbols: [...names],
        ...out,
        watchers: names.map((name) => symbols.get(name)?.watchers ?? 0),
        watchersOfAll,
        overflow,
        atUs: nowUs,
      }
    },
  }
}

/**
 * Merges the pools' samples: per (symbol, q), first = min, last = max, receipts summed; a sample
 * counts when its first live receipt fell in the window (`fromUs`) and at least SETTLE_US before the
 * earliest report, so late receipts had their chance. Spread = last − first, µs; a sample
 * received by fewer subscribers than watch its symbol (a subscriber that missed it, or had not
 * yet got it at the report) is `incomplete`, and its spread is still recorded (it is at least
 * that). Null when no pool sampled (none had a sampler).
 */
export function mergeSpread(
  reports: readonly SpreadReport[],
  fromUs: number,
): SpreadMeasurement | null {
  if (reports.length === 0) return null
  const untilUs = Math.min(...reports.map((report) => report.atUs)) - SETTLE_US
  const watchers = new Map<string, number>()
  let watchersOfAll = 0
  for (const report of reports) {
    watchersOfAll += report.watchersOfAll
    report.symbols.forEach((name, index) => {
      watchers.set(name, (watchers.get(name) ?? 0) + (report.watchers[index] ?? 0))
    })
  }
  const merged = new Map<string, Sample>()
  for (const report of reports) {
    for (let i = 0; i < report.q.length; i++) {
      const key = `${report.symbols[report.symbol[i]!]}\u0000${report.q[i]}`
      const firstUs = report.firstUs[i]!
      const lastUs = report.lastUs[i]!
      const sample = merged.get(key)
      if (sample === undefined) merged.set(key, { firstUs, lastUs, receipts: report.receipts[i]! })
      else {
        sample.firstUs = Math.min(sample.firstUs, firstUs)
        sample.lastUs = Math.max(sample.lastUs, lastUs)
        sample.receipts += report.receipts[i]!
      }
    }
  }
  const spread = emptyHistogram()
  let incomplete = 0
  for (const [key, sample] of merged) {
    if (sample.firstUs < fromUs || sample.firstUs > untilUs) continue
    spread.recordValue(Math.max(0, Math.round(sample.lastUs - sample.firstUs)))
    const name = key.slice(0, key.indexOf('\u0000'))
    if (sample.receipts < (watchers.get(name) ?? 0) + watchersOfAll) incomplete++
  }
  return { spread, incomplete }
}
