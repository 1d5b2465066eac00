/**
 * Databento Binary Encoding (DBN), versions 1 to 3, as Databento's historical files carry it
 * (usually zstd-compressed, `.dbn.zst`): a metadata header, then fixed-layout little-endian records.
 *
 * Metadata (DBN spec, "Metadata"): `DBN` + version byte, u32 length of the rest, dataset char[16],
 * schema u16, start/end/limit u64, (v1: a deprecated record_count u64), stype_in u8, stype_out u8,
 * ts_out u8, (v2+: symbol_cstr_len u16), reserved (47 bytes in v1, 53 after), u32
 * schema_definition_length (0), then the symbols, partial and not_found lists and the symbology
 * mappings, every string a fixed-width C string of symbol_cstr_len bytes (22 in v1, 71 after).
 *
 * Records start with a 16-byte header: length u8 in 4-byte words, rtype u8, publisher_id u16,
 * instrument_id u32, ts_event u64. Read here: MBP-1 and TBBO (rtype 0x01: the top level after the
 * event, a trade when action is `T`), trades (rtype 0x00, MBP-0), status (rtype 0x12: halts and
 * resumptions, dbn-status.ts) and symbol mappings (rtype 0x16, which live data sends as symbols
 * resolve). Other records (imbalance, statistics, definitions, heartbeats, ...) are skipped by
 * their length and counted by type (`progress.skipped`), so a mixed file still plays what it can;
 * a file whose schema is none of these four is refused up front.
 * Prices are i64 with 1e-9 units; the model's $0.0001 units are 1e5 of them. Times are UNIX-epoch
 * nanoseconds; events carry ts_recv (the order Databento sorts files by) from the New York
 * midnight of the first record, the clock the other formats already use.
 */

import type { ByteSource } from './byte-source.js'
import { dbnStatusChange, STATUS_BYTES, STATUS_TS_RECV_AT } from './dbn-status.js'
import {
  byteWhere,
  createCarry,
  createProgressTally,
  MAX_CARRY_BYTES,
  newYorkMidnight,
  truncationStatuses,
} from './reader-kit.js'
import {
  continuousConditions,
  symbolFilter,
  type TapeEvent,
  type TapeReader,
  type TapeReaderOptions,
  tapeError,
} from './tape-event.js'

/** Schema ids (the `Schema` enum as u16) that this reader plays; 0xffff is a mixed file. */
const SCHEMAS: Readonly<Record<number, string>> = Object.freeze({
  0: 'mbo',
  1: 'mbp-10',
  2: 'mbp-1',
  3: 'tbbo',
  4: 'trades',
  5: 'ohlcv-1s',
  6: 'ohlcv-1m',
  7: 'ohlcv-1h',
  8: 'ohlcv-1d',
  9: 'definition',
  10: 'statistics',
  11: 'status',
  12: 'imbalance',
  13: 'ohlcv-eod',
  14: 'cmbp-1',
  15: 'cbbo-1s',
  16: 'cbbo-1m',
  17: 'tcbbo',
  18: 'bbo-1s',
  19: 'bbo-1m',
})
const PLAYED_SCHEMAS = new Set([2, 3, 4, 11, 0xffff])
const MIXED_SCHEMA = 0xffff

const RTYPE_MBP0 = 0x00
const RTYPE_MBP1 = 0x01
const RTYPE_STATUS = 0x12
const RTYPE_SYMBOL_MAPPING = 0x16
/** Record types (the `RType` enum), by the name a skipped one is counted under. */
const RTYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0x0a, 'mbp-10'],
  [0x11, 'ohlcv'],
  [0x13, 'definition'],
  [0x14, 'imbalance'],
  [0x15, 'error'],
  [0x17, 'system'],
  [0x18, 'statistics'],
  [0x20, 'ohlcv-1s'],
  [0x21, 'ohlcv-1m'],
  [0x22, 'ohlcv-1h'],
  [0x23, 'ohlcv-1d'],
  [0x24, 'ohlcv-eod'],
  [0xa0, 'mbo'],
  [0xb1, 'cmbp-1'],
  [0xc0, 'cbbo-1s'],
  [0xc1, 'cbbo-1m'],
  [0xc2, 'tcbbo'],
  [0xc3, 'bbo-1s'],
  [0xc4, 'bbo-1m'],
])
const HEADER_BYTES = 16
const MBP1_BYTES = 80
const MBP0_BYTES = 48
const SYMBOL_MAPPING_BYTES_V1 = 80
const SYMBOL_MAPPING_BYTES_V2 = 176
/** Bytes of the metadata before schema_definition_length, after magic, version and length. */
const METADATA_FIXED_BYTES = 100
const SYMBOL_CSTR_V1 = 22
const PRICE_UNITS_PER_TICK_UNIT = 100_000
const TWO_32 = 0x1_0000_0000
/** The instrument id an interval's symbol names (stype_out instrument_id): decimal digits. */
const DECIMAL = /^\d+$/

/** What the metadata header says. */
export interface DbnMetadata {
  readonly version: number
  readonly dataset: string
  readonly schema: string
  readonly symbols: readonly string[]
}

interface Interval {
  /** Days since the epoch, UTC: start inclusive, end exclusive (the spec's YYYYMMDD dates). */
  readonly startDay: number
  readonly endDay: number
  readonly symbol: string
}

const cstr = (b: Uint8Array, at: number, length: number): string => {
  let end = at
  while (end < at + length && b[end] !== 0) end++
  let out = ''
  for (let i = at; i < end; i++) out += String.fromCharCode(b[i]!)
  return out.trim()
}

const dayOf = (yyyymmdd: number): number =>
  Date.UTC(Math.floor(yyyymmdd / 10_000), (Math.floor(yyyymmdd / 100) % 100) - 1, yyyymmdd % 100) /
  86_400_000

export function createDbnReader(source: ByteSource, options: TapeReaderOptions = {}): TapeReader {
  const { path } = source
  const where = (offset: number): string => byteWhere(source, offset)
  const wanted = symbolFilter(options.symbols)
  const header: { format: 'dbn'; date: string | undefined; symbols: readonly string[] } = {
    format: 'dbn',
    date: undefined,
    symbols: [],
  }
  const tally = createProgressTally([source])
  const { progress } = tally

  let metadata: DbnMetadata | undefined
  let symbolBytes = SYMBOL_CSTR_V1
  /** instrument id → its symbols over time, from the metadata's mappings. */
  const intervals = new Map<number, Interval[]>()
  /** instrument id → symbol, from in-band symbol mapping records (they win). */
  const mapped = new Map<number, string>()
  /** instrument id → symbol resolved for a day, and whether the filter keeps it. */
  const resolved = new Map<number, { day: number; symbol: string; wanted: boolean }>()
  /** Last top of book emitted per instrument id, to emit a quote only when it changes. */
  const lastTop = new Map<number, [number, number, number, number]>()
  const emitted = new Set<string>()
  /** New York midnight of the tape's first day as epoch ns, split so sums stay exact. */
  let baseHi = Number.NaN
  let baseLo = 0
  let lastNs = 0

  const parseMetadata = (b: Uint8Array, view: DataView, length: number): void => {
    const version = b[3]!
    const end = 8 + length
    let at = 8
    const need = (bytes: number, what: string): void => {
      if (at + bytes > end) {
        throw tapeError(
          path,
          `${where(at)}`,
          `expected ${what} inside the ${length}-byte metadata, which ends at byte ${end}`,
        )
      }
    }
    need(METADATA_FIXED_BYTES + 4, 'the fixed metadata fields')
    const dataset = cstr(b, at, 16)
    at += 16
    const schemaId = view.getUint16(at, true)
    if (!PLAYED_SCHEMAS.has(schemaId)) {
      throw tapeError(
        path,
        `${where(at)}`,
        `expected a DBN schema this reader plays (mbp-1, tbbo, trades, status or mixed), got ${SCHEMAS[schemaId] ?? `schema id ${schemaId}`}`,
      )
    }
    at += 2 + 8 + 8 + 8 // schema, start, end, limit
    if (version === 1) at += 8 // record_count, dropped in v2
    at += 3 // stype_in, stype_out, ts_out
    if (version >= 2) {
      symbolBytes = view.getUint16(at, true)
      if (symbolBytes === 0) {
        throw tapeError(path, `${where(at)}`, 'expected a symbol width (symbol_cstr_len) above 0')
      }
      at += 2
    }
    at = 8 + METADATA_FIXED_BYTES
    const definitionBytes = view.getUint32(at, true)
    if (definitionBytes !== 0) {
      throw tapeError(
        path,
        `${where(at)}`,
        `expected schema_definition_length 0 (no DBN version defines one), got ${definitionBytes}`,
      )
    }
    at += 4
    const list = (what: string): string[] => {
      need(4, `the ${what} count`)
      const count = view.getUint32(at, true)
      at += 4
      need(count * symbolBytes, `${count} ${what} of ${symbolBytes} bytes`)
      const out: string[] = []
      for (let i = 0; i < count; i++, at += symbolBytes) out.push(cstr(b, at, symbolBytes))
      return out
    }
    const symbols = list('symbols')
    list('partial symbols')
    list('not-found symbols')
    need(4, 'the mappings count')
    const mappings = view.getUint32(at, true)
    at += 4
    for (let m = 0; m < mappings; m++) {
      need(symbolBytes + 4, `mapping ${m}`)
      const raw = cstr(b, at, symbolBytes)
      at += symbolBytes
      const count = view.getUint32(at, true)
      at += 4
      need(count * (8 + symbolBytes), `${count} intervals of mapping ${m} (${raw})`)
      for (let i = 0; i < count; i++) {
        const startDay = dayOf(view.getUint32(at, true))
        const endDay = dayOf(view.getUint32(at + 4, true))
        const target = cstr(b, at + 8, symbolBytes)
        at += 8 + symbolBytes
        // stype_out is instrument_id in every historical file: the interval names the id.
        if (!DECIMAL.test(target)) continue
        const id = Number(target)
        let list = intervals.get(id)
        if (list === undefined) {
          list = []
          intervals.set(id, list)
        }
        list.push({ startDay, endDay, symbol: raw })
      }
    }
    metadata = {
      version,
      dataset,
      schema: schemaId === MIXED_SCHEMA ? 'mixed' : SCHEMAS[schemaId]!,
      symbols,
    }
    header.symbols = symbols
  }

  /** The symbol of an instrument on the day of `approxEpochNs` (its mapping, else the id). */
  const symbolOf = (id: number, approxEpochNs: number) => {
    const day = Math.floor(approxEpochNs / 86_400e9)
    const cached = resolved.get(id)
    if (cached !== undefined && cached.day === day) return cached
    let symbol = mapped.get(id)
    if (symbol === undefined) {
      for (const interval of intervals.get(id) ?? []) {
        if (interval.startDay <= day && day < interval.endDay) symbol = interval.symbol
      }
    }
    symbol ??= String(id)
    const entry = { day, symbol, wanted: wanted === undefined || wanted.has(symbol) }
    resolved.set(id, entry)
    return entry
  }

  /** i64 price (1e-9) at `at` as $0.0001 units; undefined for the spec's UNDEF_PRICE (i64 max). */
  const price = (view: DataView, at: number): number | undefined => {
    const lo = view.getUint32(at, true)
    const hi = view.getInt32(at + 4, true)
    if (hi === 0x7fffffff && lo === 0xffffffff) return undefined
    return Math.round((hi * TWO_32 + lo) / PRICE_UNITS_PER_TICK_UNIT)
  }

  /** ts_recv at `at` (ts_event at 8 when ts_recv is UNDEF_TIMESTAMP) as ns since midnight. */
  const time = (view: DataView, record: number, at: number): number => {
    let lo = view.getUint32(record + at, true)
    let hi = view.getUint32(record + at + 4, true)
    if (hi === 0xffffffff && lo === 0xffffffff) {
      lo = view.getUint32(record + 8, true)
      hi = view.getUint32(record + 12, true)
    }
    if (Number.isNaN(baseHi)) {
      const midnight = newYorkMidnight(Math.floor((hi * TWO_32 + lo) / 1e6))
      header.date = midnight.date
      const base = BigInt(midnight.epochMs) * 1_000_000n
      baseHi = Number(base >> 32n)
      baseLo = Number(base & 0xffffffffn)
    }
    return (hi - baseHi) * TWO_32 + (lo - baseLo)
  }

  const decode = (
    b: Uint8Array,
    view: DataView,
    at: number,
    bytes: number,
    offset: number,
    out: TapeEvent[],
  ): void => {
    const rtype = b[at + 1]!
    const minimum =
      rtype === RTYPE_MBP1
        ? MBP1_BYTES
        : rtype === RTYPE_MBP0
          ? MBP0_BYTES
          : rtype === RTYPE_STATUS
            ? STATUS_BYTES
            : rtype === RTYPE_SYMBOL_MAPPING
              ? metadata!.version === 1
                ? SYMBOL_MAPPING_BYTES_V1
                : SYMBOL_MAPPING_BYTES_V2
              : HEADER_BYTES
    if (bytes < minimum) {
      throw tapeError(
        path,
        `${where(offset)}`,
        `expected a record of rtype 0x${rtype.toString(16).padStart(2, '0')} to be at least ${minimum} bytes, its length says ${bytes}`,
      )
    }
    tally.records++
    const id = view.getUint32(at + 4, true)
    if (rtype === RTYPE_SYMBOL_MAPPING) {
      // v1: stype_in_symbol char[22], stype_out_symbol char[22]; v2+: a u8 stype before each.
      const v1 = metadata!.version === 1
      const inSymbol = v1 ? cstr(b, at + 16, 22) : cstr(b, at + 17, symbolBytes)
      const outSymbol = v1 ? cstr(b, at + 38, 22) : cstr(b, at + 18 + symbolBytes, symbolBytes)
      // The output symbol is the instrument's own (ESM4 for a parent ES.FUT); the input one
      // stands in when a feed leaves it empty.
      mapped.set(id, outSymbol === '' ? inSymbol : outSymbol)
      resolved.delete(id)
      return
    }
    if (rtype !== RTYPE_MBP1 && rtype !== RTYPE_MBP0 && rtype !== RTYPE_STATUS) {
      tally.skip(RTYPE_NAMES.get(rtype) ?? `rtype 0x${rtype.toString(16).padStart(2, '0')}`)
      return
    }
    const tsNs = time(view, at, rtype === RTYPE_STATUS ? STATUS_TS_RECV_AT : 32)
    if (tsNs > lastNs) lastNs = tsNs
    const approxEpochNs = baseHi * TWO_32 + baseLo + tsNs
    const instrument = symbolOf(id, approxEpochNs)
    if (!instrument.wanted) return
    const { symbol } = instrument
    if (rtype === RTYPE_STATUS) {
      const change = dbnStatusChange(view, at)
      if (change === undefined) return
      emitted.add(symbol)
      out.push({ kind: 'status', symbol, tsNs, status: change.status, reason: change.reason })
      return
    }
    if (rtype === RTYPE_MBP1) {
      const bid = price(view, at + 48)
      const ask = price(view, at + 56)
      const bidSize = bid === undefined ? 0 : view.getUint32(at + 64, true)
      const askSize = ask === undefined ? 0 : view.getUint32(at + 68, true)
      const last = lastTop.get(id)
      const top: [number, number, number, number] = [bid ?? 0, bidSize, ask ?? 0, askSize]
      if (
        last === undefined ||
        last[0] !== top[0] ||
        last[1] !== top[1] ||
        last[2] !== top[2] ||
        last[3] !== top[3]
      ) {
        lastTop.set(id, top)
        emitted.add(symbol)
        out.push({ kind: 'quote', symbol, tsNs, bid: top[0], bidSize, ask: top[2], askSize })
      }
    }
    // A trade is action 'T' (MBP-1, TBBO, trades); a trades record always is one.
    if (b[at + 28] !== 0x54 && rtype === RTYPE_MBP1) return
    const tradePrice = price(view, at + 16)
    const size = view.getUint32(at + 24, true)
    if (tradePrice === undefined || size === 0) return
    emitted.add(symbol)
    out.push({
      kind: 'trade',
      symbol,
      tsNs,
      price: tradePrice,
      size,
      conditions: continuousConditions(size),
    })
  }

  async function* read(): AsyncGenerator<readonly TapeEvent[]> {
    const carry = createCarry()
    for await (const chunk of source) {
      carry.append(chunk)
      const b = carry.bytes
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
      let at = 0
      if (metadata === undefined) {
        if (b.length >= 4 && (b[0] !== 0x44 || b[1] !== 0x42 || b[2] !== 0x4e)) {
          throw tapeError(
            path,
            where(0),
            `expected the DBN magic "DBN" and a version byte, got ${[...b.subarray(0, 4)].map((x) => x.toString(16).padStart(2, '0')).join(' ')}`,
          )
        }
        if (b.length >= 4 && (b[3]! < 1 || b[3]! > 3)) {
          throw tapeError(path, where(3), `expected DBN version 1, 2 or 3, got ${b[3]}`)
        }
        if (b.length < 8) continue
        const length = view.getUint32(4, true)
        if (length > MAX_CARRY_BYTES) {
          throw tapeError(
            path,
            where(4),
            `expected a metadata length under ${MAX_CARRY_BYTES} bytes, got ${length}`,
          )
        }
        if (b.length < 8 + length) continue
        parseMetadata(b, view, length)
        at = 8 + length
      }
      const out: TapeEvent[] = []
      while (at < b.length) {
        const bytes = b[at]! * 4
        if (bytes < HEADER_BYTES) {
          throw tapeError(
            path,
            `${where(carry.offset + at)}`,
            `expected a record length of at least 4 words (${HEADER_BYTES} bytes), got ${b[at]}`,
          )
        }
        if (at + bytes > b.length) break
        decode(b, view, at, bytes, carry.offset + at, out)
        at += bytes
      }
      carry.consume(at)
      if (out.length > 0) yield out
    }
    const left = carry.bytes
    if (metadata === undefined) {
      // Under 8 bytes of an uncompressed file is no DBN file at all; more is a cut header.
      if (left.length < 8 && source.cutShort === undefined) {
        throw tapeError(
          path,
          `${where(left.length)}`,
          `expected a DBN metadata header (at least 8 bytes), the file ends after ${left.length}`,
        )
      }
      tally.truncated = source.cutShort ?? `${where(left.length)}: the metadata header is cut short`
      return
    }
    if (left.length > 0 || source.cutShort !== undefined) {
      tally.truncated =
        source.cutShort ??
        `${where(carry.offset)}: a ${left[0]! * 4}-byte record ends after ${left.length} bytes`
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
