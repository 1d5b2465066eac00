/**
 * Nasdaq TotalView-ITCH 5.0, as Nasdaq's sample day files carry it: each message preceded by its
 * length as a 2-byte big-endian integer. Every message starts with type (1 byte), stock locate (2),
 * tracking number (2) and a 6-byte timestamp, nanoseconds since midnight (spec §1.1, §4); integers
 * are big-endian, prices are 4-byte Price(4) with four implied decimals (our $0.0001 units as is).
 *
 * The book (add A/F, execute E/C, cancel X, delete D, replace U) is kept per stock and the top of
 * book is emitted as a quote whenever it changes; executions (E, printable C), non-cross trades P
 * and crosses Q are trades; trading actions H, LULD collars J and operational halts h are status.
 * System events, directory, Reg SHO, MWCB, IPO, participant, NOII, RPII, broken trades and direct
 * listing messages are checked for length and read for what they say, and produce no event:
 * a market-wide circuit breaker (V/W) is followed by an H halt for each stock, which is the event.
 */

import type { ByteSource } from './byte-source.js'
import { createItchBook, type LiveOrder, sideOf, type Top } from './itch-book.js'
import {
  byteWhere,
  createCarry,
  createProgressTally,
  dateFromName,
  truncationStatuses,
} from './reader-kit.js'
import {
  CLOSING_CROSS,
  continuousConditions,
  OPENING_CROSS,
  symbolFilter,
  type TapeEvent,
  type TapeHeader,
  type TapeReader,
  type TapeReaderOptions,
  tapeError,
} from './tape-event.js'

/** Message length (after the 2-byte prefix) by type, from the spec's message tables. */
export const ITCH_MESSAGE_LENGTHS: Readonly<Record<string, number>> = Object.freeze({
  S: 12, // system event
  R: 39, // stock directory
  H: 25, // stock trading action
  Y: 20, // Reg SHO short sale price test restricted indicator
  L: 26, // market participant position
  V: 35, // MWCB decline level
  W: 12, // MWCB status
  K: 28, // IPO quoting period update
  J: 35, // LULD auction collar
  h: 21, // operational halt
  A: 36, // add order, no MPID attribution
  F: 40, // add order with MPID attribution
  E: 31, // order executed
  C: 36, // order executed with price
  X: 23, // order cancel
  D: 19, // order delete
  U: 35, // order replace
  P: 44, // trade (non-cross)
  Q: 40, // cross trade
  B: 19, // broken trade
  I: 50, // net order imbalance indicator
  N: 20, // retail price improvement indicator
  O: 48, // direct listing with capital raise price discovery
})

const LENGTH_BY_CODE = new Int32Array(256).fill(-1)
for (const [type, length] of Object.entries(ITCH_MESSAGE_LENGTHS)) {
  LENGTH_BY_CODE[type.charCodeAt(0)] = length
}

export interface ItchReaderOptions extends TapeReaderOptions {
  /** The trading day, when the file name does not say it (`MMDDYYYY.NASDAQ_ITCH50`). */
  readonly date?: string
}

const u16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!
const u32 = (b: Uint8Array, at: number): number =>
  b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!)
/** 6-byte timestamp: exact in a double (below 2^48). */
const u48 = (b: Uint8Array, at: number): number => u16(b, at) * 0x1_0000_0000 + u32(b, at + 2)
/** 8-byte unsigned: exact up to 2^53, which order references and shares stay far below. */
const u64 = (b: Uint8Array, at: number): number => u32(b, at) * 0x1_0000_0000 + u32(b, at + 4)

/** Alpha field, right-padded with spaces. */
function alpha(b: Uint8Array, at: number, length: number): string {
  let end = at + length
  while (end > at && (b[end - 1] === 0x20 || b[end - 1] === 0)) end--
  let out = ''
  for (let i = at; i < end; i++) out += String.fromCharCode(b[i]!)
  return out
}

interface StockState {
  readonly symbol: string
  readonly wanted: boolean
  roundLot: number
  /** Last top of book emitted; NaN before the first. */
  readonly last: Top
}

export function createItchReader(source: ByteSource, options: ItchReaderOptions = {}): TapeReader {
  const { path } = source
  const where = (offset: number): string => byteWhere(source, offset)
  const wanted = symbolFilter(options.symbols)
  const header: TapeHeader = {
    format: 'itch',
    date: options.date ?? dateFromName(path.split('/').pop() ?? path),
    symbols: [],
  }
  const tally = createProgressTally([source])
  const { progress } = tally

  const book = createItchBook()
  const stocks: (StockState | undefined)[] = []
  const emitted = new Set<string>()
  const top: Top = { bid: 0, bidSize: 0, ask: 0, askSize: 0 }
  /** The order a message acts on, copied out of the book (which keeps no objects). */
  const order: LiveOrder = { locate: 0, side: 0, price: 0, shares: 0 }
  let lastNs = 0

  const stock = (locate: number, b?: Uint8Array, at?: number): StockState | undefined => {
    const known = stocks[locate]
    if (known !== undefined || b === undefined || at === undefined) return known
    // A message naming a stock the directory did not announce (a tape cut from mid-day).
    const symbol = alpha(b, at, 8)
    const state: StockState = {
      symbol,
      wanted: wanted === undefined || wanted.has(symbol),
      roundLot: 100,
      last: { bid: Number.NaN, bidSize: 0, ask: 0, askSize: 0 },
    }
    stocks[locate] = state
    return state
  }

  const quoteIfChanged = (locate: number, tsNs: number, out: TapeEvent[]): void => {
    const state = stocks[locate]
    if (state === undefined || !state.wanted) return
    book.top(locate, top)
    const { last } = state
    if (
      top.bid === last.bid &&
      top.bidSize === last.bidSize &&
      top.ask === last.ask &&
      top.askSize === last.askSize
    ) {
      return
    }
    last.bid = top.bid
    last.bidSize = top.bidSize
    last.ask = top.ask
    last.askSize = top.askSize
    emitted.add(state.symbol)
    out.push({ kind: 'quote', symbol: state.symbol, tsNs, ...top })
  }

  const trade = (
    state: StockState | undefined,
    tsNs: number,
    price: number,
    size: number,
    out: TapeEvent[],
    conditions = state === undefined ? undefined : continuousConditions(size, state.roundLot),
  ): void => {
    if (state === undefined || !state.wanted || conditions === undefined) return
    emitted.add(state.symbol)
    out.push({ kind: 'trade', symbol: state.symbol, tsNs, price, size, conditions })
  }

  const status = (
    state: StockState | undefined,
    tsNs: number,
    value: 'halted' | 'trading',
    reason: string,
    out: TapeEvent[],
  ): void => {
    if (state === undefined || !state.wanted) return
    emitted.add(state.symbol)
    out.push({ kind: 'status', symbol: state.symbol, tsNs, status: value, reason })
  }

  /** Decodes one message at `at` (its type byte) of `length` bytes; `offset` is for errors. */
  const decode = (
    b: Uint8Array,
    at: number,
    length: number,
    offset: number,
    out: TapeEvent[],
  ): void => {
    const code = b[at]!
    const type = String.fromCharCode(code)
    const expected = LENGTH_BY_CODE[code]!
    if (expected < 0) {
      throw tapeError(
        path,
        `${where(offset)}`,
        `expected an ITCH 5.0 message type (${Object.keys(ITCH_MESSAGE_LENGTHS).join(' ')}), got 0x${code.toString(16).padStart(2, '0')}`,
      )
    }
    if (length !== expected) {
      throw tapeError(
        path,
        `${where(offset)}`,
        `expected a '${type}' message of ${expected} bytes, the length prefix says ${length}`,
      )
    }
    tally.records++
    const locate = u16(b, at + 1)
    const tsNs = u48(b, at + 5)
    lastNs = tsNs
    switch (type) {
      case 'R': {
        const symbol = alpha(b, at + 11, 8)
        const lot = u32(b, at + 21)
        stocks[locate] = {
          symbol,
          wanted: wanted === undefined || wanted.has(symbol),
          roundLot: lot > 0 ? lot : 100,
          last: { bid: Number.NaN, bidSize: 0, ask: 0, askSize: 0 },
        }
        return
      }
      case 'H': {
        const state = stock(locate, b, at + 11)
        const reason = alpha(b, at + 21, 4)
        switch (b[at + 19]) {
          case 0x48: // H: halted across all U.S. equity markets
            status(state, tsNs, 'halted', reason || 'halt', out)
            return
          case 0x50: // P: paused (LULD)
            status(state, tsNs, 'halted', reason || 'luld', out)
            return
          case 0x51: // Q: quotation only, no trading
            status(state, tsNs, 'halted', reason || 'quotation-only', out)
            return
          case 0x54: // T: trading on Nasdaq
            status(state, tsNs, 'trading', reason || 'reopen', out)
            return
          default:
            throw tapeError(
              path,
              `${where(offset + 19)}`,
              `expected a trading state H, P, Q or T, got 0x${b[at + 19]!.toString(16)}`,
            )
        }
      }
      case 'J':
        // A collar update during a LULD pause's reopening auction: still halted, and why.
        status(stock(locate, b, at + 11), tsNs, 'halted', 'luld-collar', out)
        return
      case 'h': {
        const state = stock(locate, b, at + 11)
        if (b[at + 20] === 0x48) {
          status(state, tsNs, 'halted', 'operational', out)
          return
        }
        status(state, tsNs, 'trading', 'operational-resume', out)
        return
      }
      case 'A':
      case 'F': {
        const state = stock(locate, b, at + 24)
        const side = sideOf(b[at + 19]!)
        if (side === undefined) {
          throw tapeError(
            path,
            `${where(offset + 19)}`,
            `expected a side B or S, got 0x${b[at + 19]!.toString(16)}`,
          )
        }
        if (state === undefined || !state.wanted) return
        book.add(u64(b, at + 11), locate, side, u32(b, at + 32), u32(b, at + 20))
        quoteIfChanged(locate, tsNs, out)
        return
      }
      case 'E':
      case 'C': {
        const ref = u64(b, at + 11)
        const shares = u32(b, at + 19)
        if (!book.find(ref, order)) return
        const price = type === 'E' ? order.price : u32(b, at + 32)
        book.reduce(ref, shares)
        // C with printable N: the execution must not be shown as a trade (spec §4.5.2).
        if (type === 'E' || b[at + 31] === 0x59)
          trade(stocks[order.locate], tsNs, price, shares, out)
        quoteIfChanged(order.locate, tsNs, out)
        return
      }
      case 'X': {
        const locate = book.reduce(u64(b, at + 11), u32(b, at + 19))
        if (locate >= 0) quoteIfChanged(locate, tsNs, out)
        return
      }
      case 'D': {
        const locate = book.remove(u64(b, at + 11))
        if (locate >= 0) quoteIfChanged(locate, tsNs, out)
        return
      }
      case 'U': {
        if (book.remove(u64(b, at + 11), order) < 0) return
        // The replacement keeps the side and the stock of the order it replaces (spec §4.6).
        book.add(u64(b, at + 19), order.locate, order.side, u32(b, at + 31), u32(b, at + 27))
        quoteIfChanged(order.locate, tsNs, out)
        return
      }
      case 'P': {
        // A hidden order's execution: on the tape, not in the displayed book.
        trade(stock(locate, b, at + 24), tsNs, u32(b, at + 32), u32(b, at + 20), out)
        return
      }
      case 'Q': {
        const shares = u64(b, at + 11)
        if (shares === 0) return
        const crossType = b[at + 39]
        const conditions =
          crossType === 0x43 // C: closing cross
            ? CLOSING_CROSS
            : crossType === 0x4f || crossType === 0x48 // O: opening, H: halt/IPO reopening
              ? OPENING_CROSS
              : undefined
        const state = stock(locate, b, at + 19)
        trade(
          state,
          tsNs,
          u32(b, at + 27),
          shares,
          out,
          conditions ?? continuousConditions(shares, state?.roundLot),
        )
        return
      }
      default:
        return
    }
  }

  async function* read(): AsyncGenerator<readonly TapeEvent[]> {
    const carry = createCarry()
    for await (const chunk of source) {
      carry.append(chunk)
      const b = carry.bytes
      const out: TapeEvent[] = []
      let at = 0
      while (at + 2 <= b.length) {
        const length = u16(b, at)
        if (length === 0) {
          throw tapeError(
            path,
            `${where(carry.offset + at)}`,
            'expected a message length above 0, got 0',
          )
        }
        if (at + 2 + length > b.length) break
        decode(b, at + 2, length, carry.offset + at + 2, out)
        at += 2 + length
      }
      carry.consume(at)
      if (out.length > 0) yield out
    }
    const left = carry.bytes
    if (left.length > 0 || source.cutShort !== undefined) {
      tally.truncated =
        source.cutShort ??
        (left.length < 2
          ? `${where(carry.offset)}: a length prefix ends after ${left.length} of 2 bytes`
          : `${where(carry.offset)}: a ${u16(left, 0)}-byte message ends after ${left.length - 2} bytes`)
      yield truncationStatuses(emitted, lastNs)
    }
  }

  return {
    path,
    header,
    progress,
    [Symbol.asyncIterator]: () => read(),
  }
}
