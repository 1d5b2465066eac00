/**
 * DBN files written from the DBN specification: the metadata header (versions 1, 2 and 3) and the
 * records this reader plays, little-endian, prices as i64 in 1e-9 units, times as u64 UNIX-epoch
 * nanoseconds, strings as fixed-width NUL-padded C strings (22 bytes in v1, 71 in v2 and v3).
 */

export const SCHEMA = {
  mbo: 0,
  mbp1: 2,
  tbbo: 3,
  trades: 4,
  status: 11,
  imbalance: 12,
  mixed: 0xffff,
} as const
export const UNDEF_PRICE = 0x7fff_ffff_ffff_ffffn

class Bytes {
  readonly parts: number[] = []
  u8(v: number): this {
    this.parts.push(v & 0xff)
    return this
  }
  int(v: bigint, bytes: number): this {
    let x = BigInt.asUintN(bytes * 8, v)
    for (let i = 0; i < bytes; i++) {
      this.parts.push(Number(x & 0xffn))
      x >>= 8n
    }
    return this
  }
  u16(v: number): this {
    return this.int(BigInt(v), 2)
  }
  u32(v: number): this {
    return this.int(BigInt(v), 4)
  }
  u64(v: bigint): this {
    return this.int(v, 8)
  }
  cstr(text: string, width: number): this {
    for (let i = 0; i < width; i++) this.parts.push(i < text.length ? text.charCodeAt(i) : 0)
    return this
  }
  zeros(count: number): this {
    for (let i = 0; i < count; i++) this.parts.push(0)
    return this
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts)
  }
}

export interface MetadataSpec {
  readonly version: 1 | 2 | 3
  readonly schema: number
  readonly symbols: readonly string[]
  /** raw symbol → [startYYYYMMDD, endYYYYMMDD, instrument id] intervals. */
  readonly mappings: readonly (readonly [string, readonly (readonly [number, number, number])[]])[]
}

export function metadata(spec: MetadataSpec): Uint8Array {
  const width = spec.version === 1 ? 22 : 71
  const body = new Bytes()
    .cstr('XNAS.ITCH', 16)
    .u16(spec.schema)
    .u64(1_700_000_000_000_000_000n) // start
    .u64(1_700_086_400_000_000_000n) // end
    .u64(0n) // limit
  if (spec.version === 1) body.u64(0n) // record_count
  body.u8(1).u8(0).u8(0) // stype_in raw_symbol, stype_out instrument_id, ts_out
  if (spec.version >= 2) body.u16(width)
  body.zeros(spec.version === 1 ? 47 : 53)
  body.u32(0) // schema_definition_length
  body.u32(spec.symbols.length)
  for (const symbol of spec.symbols) body.cstr(symbol, width)
  body.u32(0).u32(0) // partial, not_found
  body.u32(spec.mappings.length)
  for (const [raw, intervals] of spec.mappings) {
    body.cstr(raw, width).u32(intervals.length)
    for (const [start, end, id] of intervals) body.u32(start).u32(end).cstr(String(id), width)
  }
  // Encoders pad the metadata to a multiple of 8 bytes; the length counts the padding.
  while (body.parts.length % 8 !== 0) body.u8(0)
  return join([
    new Bytes().u8(0x44).u8(0x42).u8(0x4e).u8(spec.version).u32(body.parts.length).bytes(),
    body.bytes(),
  ])
}

export function join(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

const header = (words: number, rtype: number, id: number, tsEvent: bigint): Bytes =>
  new Bytes().u8(words).u8(rtype).u16(1).u32(id).u64(tsEvent)

export interface BookRecord {
  readonly id: number
  readonly tsRecv: bigint
  readonly action: string
  readonly side?: string
  /** Price in dollars × 1e9. */
  readonly price: bigint
  readonly size: number
  readonly bid: bigint
  readonly bidSize: number
  readonly ask: bigint
  readonly askSize: number
}

/** Mbp1Msg / TbboMsg (rtype 0x01, 80 bytes). */
export function mbp1(r: BookRecord): Uint8Array {
  return header(20, 0x01, r.id, r.tsRecv - 1000n)
    .u64(r.price)
    .u32(r.size)
    .u8(r.action.charCodeAt(0))
    .u8((r.side ?? 'N').charCodeAt(0))
    .u8(0x80) // flags: F_LAST
    .u8(0) // depth
    .u64(r.tsRecv)
    .int(1000n, 4) // ts_in_delta
    .u32(7) // sequence
    .u64(r.bid)
    .u64(r.ask)
    .u32(r.bidSize)
    .u32(r.askSize)
    .u32(1)
    .u32(1)
    .bytes()
}

/** TradeMsg (rtype 0x00, 48 bytes). */
export function tradeRecord(id: number, tsRecv: bigint, price: bigint, size: number): Uint8Array {
  return header(12, 0x00, id, tsRecv - 1000n)
    .u64(price)
    .u32(size)
    .u8(0x54) // 'T'
    .u8(0x42) // 'B'
    .u8(0x80)
    .u8(0)
    .u64(tsRecv)
    .int(1000n, 4)
    .u32(8)
    .bytes()
}

/** SymbolMappingMsg (rtype 0x16): 80 bytes in v1, 176 in v2 and v3. */
export function symbolMapping(
  version: 1 | 2 | 3,
  id: number,
  ts: bigint,
  inSymbol: string,
  outSymbol: string,
): Uint8Array {
  if (version === 1) {
    return header(20, 0x16, id, ts)
      .cstr(inSymbol, 22)
      .cstr(outSymbol, 22)
      .zeros(4)
      .u64(ts)
      .u64(ts + 86_400_000_000_000n)
      .bytes()
  }
  return header(44, 0x16, id, ts)
    .u8(1)
    .cstr(inSymbol, 71)
    .u8(1)
    .cstr(outSymbol, 71)
    .u64(ts)
    .u64(ts + 86_400_000_000_000n)
    .bytes()
}

/** A record of a type the reader skips (SystemMsg heartbeat, rtype 0x17, 320 bytes in v2). */
export function systemRecord(ts: bigint): Uint8Array {
  return header(80, 0x17, 0, ts)
    .zeros(320 - 16)
    .bytes()
}

/** StatusMsg's fields, as the DBN spec's `StatusAction` and `StatusReason` numbers. */
export interface StatusFields {
  readonly id: number
  readonly tsRecv: bigint
  readonly action: number
  readonly reason: number
  readonly tradingEvent?: number
  /** `Y`, `N` or `~`. */
  readonly isTrading: string
  readonly isQuoting?: string
}

/**
 * StatusMsg (rtype 0x12, 40 bytes, the same in versions 1, 2 and 3): ts_recv u64, action u16,
 * reason u16, trading_event u16, is_trading, is_quoting, is_short_sell_restricted (c_char each),
 * 7 reserved bytes.
 */
export function statusRecord(r: StatusFields): Uint8Array {
  return header(10, 0x12, r.id, r.tsRecv - 1000n)
    .u64(r.tsRecv)
    .u16(r.action)
    .u16(r.reason)
    .u16(r.tradingEvent ?? 0)
    .u8(r.isTrading.charCodeAt(0))
    .u8((r.isQuoting ?? r.isTrading).charCodeAt(0))
    .u8(0x7e) // is_short_sell_restricted '~'
    .zeros(7)
    .bytes()
}

/** ImbalanceMsg (rtype 0x14, 112 bytes): a record the reader skips and counts. */
export function imbalanceRecord(id: number, tsRecv: bigint): Uint8Array {
  return header(28, 0x14, id, tsRecv - 1000n)
    .u64(tsRecv)
    .zeros(112 - 24)
    .bytes()
}
