/**
 * What every tape reader produces: the model's `quote` / `trade` / `status` ticks (types.ts), with
 * the symbol as its name and the tape's own time, and without `seq`. The feed numbers events (the
 * global id and the per-symbol `q`) and maps the time onto the run's clock, exactly as it does for
 * the model; a reader only says what happened and when.
 */

import { ERROR_CODES, TickstormError } from '../../errors.js'
import type { TradeCondition, TradingStatus } from '../types.js'

export const TAPE_FORMATS = ['lobster', 'dbn', 'itch'] as const
export type TapeFormat = (typeof TAPE_FORMATS)[number]

/**
 * Nanoseconds since midnight, exchange local time (America/New_York), of the tape's first day: the
 * unit ITCH and LOBSTER already use, and the model's clock (`simTimeUs` = ⌊tsNs / 1000⌋). A day is
 * 8.64e13 ns, so a number holds it exactly for over a hundred days.
 */
export type TapeTimeNs = number

interface TapeEventBase {
  readonly symbol: string
  readonly tsNs: TapeTimeNs
}

/** Top of book; an empty side is price 0, size 0. Prices in $0.0001 units, as the model's. */
export interface TapeQuote extends TapeEventBase {
  readonly kind: 'quote'
  readonly bid: number
  readonly bidSize: number
  readonly ask: number
  readonly askSize: number
}

export interface TapeTrade extends TapeEventBase {
  readonly kind: 'trade'
  readonly price: number
  readonly size: number
  readonly conditions: readonly TradeCondition[]
}

export interface TapeStatus extends TapeEventBase {
  readonly kind: 'status'
  readonly status: TradingStatus
  readonly reason: string
}

export type TapeEvent = TapeQuote | TapeTrade | TapeStatus

/** The reason of the status each symbol gets when a tape ends in the middle of a record. */
export const TRUNCATED_REASON = 'tape-truncated'

/** What a reader knows of its tape before (and while) reading it. */
export interface TapeHeader {
  readonly format: TapeFormat
  /** The trading day, `YYYY-MM-DD`, when the tape says it (file name, metadata, timestamps). */
  readonly date: string | undefined
  /** Symbols the tape declares up front (DBN metadata, a LOBSTER file name); empty if none. */
  readonly symbols: readonly string[]
}

/** Read progress, for a progress line and for `tape info`. */
export interface TapeProgress {
  /** Bytes read from the file (compressed bytes for .gz/.zst), and its size. */
  readonly fileBytes: number
  readonly fileSize: number
  /** Records (messages, CSV rows) decoded, whether or not they produced an event. */
  readonly records: number
  /** Set once the tape ended inside a record: where, and what was missing. */
  readonly truncated: string | undefined
  /**
   * Records of types the reader passes over, by type (DBN: `imbalance`, `statistics`, `system`,
   * ...): counted in `records` too, and named here so a tape that plays less than it holds says so.
   */
  readonly skipped: Readonly<Record<string, number>>
}

/**
 * One tape, read once, front to back. Iterating yields the events of each input chunk as one
 * batch (an async step per chunk, not per event); memory stays bounded by the chunk and the
 * state the format needs (ITCH's live orders).
 */
export interface TapeReader extends AsyncIterable<readonly TapeEvent[]> {
  readonly path: string
  /** Filled in once the first batch is read (DBN's metadata comes first in the file). */
  readonly header: TapeHeader
  readonly progress: TapeProgress
}

/** Options every reader takes. */
export interface TapeReaderOptions {
  /** Keep only these symbols (all when absent or empty). */
  readonly symbols?: readonly string[]
  /** Bytes per read from the file (default 1 MiB); tests use tiny chunks to split records. */
  readonly chunkBytes?: number
}

/** A bad tape: names the file, where in it (byte offset or line), and what was expected. */
export function tapeError(path: string, where: string, expected: string): TickstormError {
  return new TickstormError(ERROR_CODES.INVALID_TAPE, `${path}: ${where}: ${expected}`, {
    details: { path, where },
  })
}

/** A symbol filter as a predicate; `undefined` keeps everything. */
export function symbolFilter(symbols: readonly string[] | undefined): Set<string> | undefined {
  return symbols === undefined || symbols.length === 0 ? undefined : new Set(symbols)
}

/** Trades under a round lot carry the odd-lot condition, as the model's do. */
const REGULAR: readonly TradeCondition[] = Object.freeze([0])
const ODD_LOT: readonly TradeCondition[] = Object.freeze([1])
export const OPENING_CROSS: readonly TradeCondition[] = Object.freeze([3])
export const CLOSING_CROSS: readonly TradeCondition[] = Object.freeze([4])

export function continuousConditions(size: number, roundLot = 100): readonly TradeCondition[] {
  return size < roundLot ? ODD_LOT : REGULAR
}
