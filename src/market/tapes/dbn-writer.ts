/**
 * The model's ticks written out as a DBN version 2 file of schema MBP-1 (the layout dbn.ts reads,
 * from the DBN specification): a tape with the shape of the model's day (an open-burst, a flash
 * crash) that `serve --tape` replays like a recorded one, so the replay path can be shown end to
 * end without a data vendor. A quote is an MBP-1 record (action `A`) carrying the new top of book;
 * a trade is an MBP-1 record with action `T`, the trade's price and size, and the book as it
 * stands. MBP-1 has no trading status, so status ticks are counted and left out, and trade
 * conditions are not carried (a reader derives odd lots from the size).
 */

import { once } from 'node:events'
import { createWriteStream, type WriteStream } from 'node:fs'
import { createGzip, type Gzip } from 'node:zlib'
import type { Instrument, QuoteTick, Tick } from '../types.js'
import { newYorkMidnight } from './reader-kit.js'

const VERSION = 2
const SCHEMA_MBP1 = 2
const SYMBOL_CSTR = 71
const STYPE_RAW_SYMBOL = 1
const STYPE_INSTRUMENT_ID = 0
const RTYPE_MBP1 = 0x01
const MBP1_BYTES = 80
/** The spec's UNDEF_PRICE (i64 max): an empty side. */
const UNDEF_PRICE = 0x7fff_ffff_ffff_ffffn
/** $0.0001 units to DBN's 1e-9. */
const PRICE_FACTOR = 100_000n
const F_LAST = 0x80
/** Records buffered before a write. */
const BATCH_RECORDS = 4096

export interface DbnWriterOptions {
  readonly path: string
  /** The trading day, `YYYY-MM-DD`: the model's clock is time since its New York midnight. */
  readonly date: string
  readonly instruments: readonly Instrument[]
  readonly dataset?: string
}

export interface DbnWriter {
  /** Appends ticks (time order); resolves when the stream can take more. */
  write(ticks: readonly Tick[]): Promise<void>
  /** Ends the file; resolves with what was written. */
  close(): Promise<{ readonly records: number; readonly skippedStatuses: number }>
}

const yyyymmdd = (date: string): number => Number(date.replaceAll('-', ''))

function nextDay(date: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number]
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10)
}

/** The metadata header: symbols, and each symbol mapped to its instrument id for the day. */
export function dbnMetadata(
  date: string,
  symbols: readonly string[],
  startNs: bigint,
  endNs: bigint,
  dataset = 'TICKSTORM.MODEL',
): Uint8Array {
  const parts: number[] = []
  const u8 = (v: number): void => {
    parts.push(v & 0xff)
  }
  const int = (v: bigint, bytes: number): void => {
    let x = BigInt.asUintN(bytes * 8, v)
    for (let i = 0; i < bytes; i++) {
      parts.push(Number(x & 0xffn))
      x >>= 8n
    }
  }
  const cstr = (text: string, width: number): void => {
    for (let i = 0; i < width; i++) parts.push(i < text.length ? text.charCodeAt(i) : 0)
  }
  cstr(dataset, 16)
  int(BigInt(SCHEMA_MBP1), 2)
  int(startNs, 8)
  int(endNs, 8)
  int(0n, 8) // limit
  u8(STYPE_RAW_SYMBOL)
  u8(STYPE_INSTRUMENT_ID)
  u8(0) // ts_out
  int(BigInt(SYMBOL_CSTR), 2)
  for (let i = 0; i < 53; i++) u8(0) // reserved
  int(0n, 4) // schema_definition_length
  int(BigInt(symbols.length), 4)
  for (const symbol of symbols) cstr(symbol, SYMBOL_CSTR)
  int(0n, 4) // partial
  int(0n, 4) // not_found
  int(BigInt(symbols.length), 4)
  const start = yyyymmdd(date)
  const end = yyyymmdd(nextDay(date))
  symbols.forEach((symbol, i) => {
    cstr(symbol, SYMBOL_CSTR)
    int(1n, 4)
    int(BigInt(start), 4)
    int(BigInt(end), 4)
    cstr(String(i + 1), SYMBOL_CSTR)
  })
  while (parts.length % 8 !== 0) u8(0)
  const head = new Uint8Array(8)
  head.set([0x44, 0x42, 0x4e, VERSION])
  new DataView(head.buffer).setUint32(4, parts.length, true)
  const out = new Uint8Array(8 + parts.length)
  out.set(head, 0)
  out.set(parts, 8)
  return out
}

/**
 * Opens `path` (gzip-compressed when it ends in `.gz`) and writes the metadata; the records follow
 * as `write` is called. Instrument ids are the universe index + 1.
 */
export async function openDbnWriter(options: DbnWriterOptions): Promise<DbnWriter> {
  const [y, m, d] = options.date.split('-').map(Number) as [number, number, number]
  const midnightNs = BigInt(newYorkMidnight(Date.UTC(y, m - 1, d, 12)).epochMs) * 1_000_000n
  const symbols = options.instruments.map((instrument) => instrument.symbol)
  const file: WriteStream = createWriteStream(options.path)
  const gzip: Gzip | undefined = options.path.endsWith('.gz') ? createGzip() : undefined
  gzip?.pipe(file)
  const sink = gzip ?? file
  const failed = new Promise<never>((_, reject) => {
    file.once('error', reject)
    gzip?.once('error', reject)
  })
  failed.catch(() => undefined)
  const put = async (bytes: Uint8Array): Promise<void> => {
    if (!sink.write(bytes)) await Promise.race([once(sink, 'drain'), failed])
  }
  await put(dbnMetadata(options.date, symbols, midnightNs, midnightNs + 86_400_000_000_000n))

  const tops: (QuoteTick | undefined)[] = []
  let records = 0
  let skippedStatuses = 0
  let sequence = 0
  const price = (units: number): bigint => (units > 0 ? BigInt(units) * PRICE_FACTOR : UNDEF_PRICE)

  const record = (view: DataView, at: number, tick: QuoteTick | Tick, top: QuoteTick): void => {
    const ts = midnightNs + BigInt(tick.simTimeUs) * 1000n
    view.setUint8(at, MBP1_BYTES / 4)
    view.setUint8(at + 1, RTYPE_MBP1)
    view.setUint16(at + 2, 1, true) // publisher
    view.setUint32(at + 4, tick.symbol + 1, true)
    view.setBigUint64(at + 8, ts, true) // ts_event
    const trade = tick.kind === 'trade'
    view.setBigInt64(at + 16, trade ? price(tick.price) : price(top.bid), true)
    view.setUint32(at + 24, trade ? tick.size : top.bidSize, true)
    view.setUint8(at + 28, (trade ? 'T' : 'A').charCodeAt(0))
    view.setUint8(at + 29, 'N'.charCodeAt(0))
    view.setUint8(at + 30, F_LAST)
    view.setUint8(at + 31, 0) // depth
    view.setBigUint64(at + 32, ts, true) // ts_recv
    view.setInt32(at + 40, 0, true) // ts_in_delta
    view.setUint32(at + 44, ++sequence, true)
    view.setBigInt64(at + 48, price(top.bid), true)
    view.setBigInt64(at + 56, price(top.ask), true)
    view.setUint32(at + 64, top.bid > 0 ? top.bidSize : 0, true)
    view.setUint32(at + 68, top.ask > 0 ? top.askSize : 0, true)
    view.setUint32(at + 72, top.bid > 0 ? 1 : 0, true)
    view.setUint32(at + 76, top.ask > 0 ? 1 : 0, true)
  }

  const empty = (symbol: number): QuoteTick => ({
    kind: 'quote',
    symbol,
    seq: 0,
    simTimeUs: 0,
    bid: 0,
    bidSize: 0,
    ask: 0,
    askSize: 0,
  })

  return {
    async write(ticks) {
      for (let from = 0; from < ticks.length; from += BATCH_RECORDS) {
        const slice = ticks.slice(from, from + BATCH_RECORDS)
        const bytes = new Uint8Array(slice.length * MBP1_BYTES)
        const view = new DataView(bytes.buffer)
        let at = 0
        for (const tick of slice) {
          if (tick.kind === 'status') {
            skippedStatuses++
            continue
          }
          if (tick.kind === 'quote') tops[tick.symbol] = tick
          record(view, at, tick, tops[tick.symbol] ?? empty(tick.symbol))
          at += MBP1_BYTES
          records++
        }
        if (at > 0) await put(bytes.subarray(0, at))
      }
    },
    async close() {
      sink.end()
      await Promise.race([once(file, 'close'), failed])
      return { records, skippedStatuses }
    },
  }
}
