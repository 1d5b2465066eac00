/**
 * The SSE engine's byte-level fast path: tick events of exactly the shape our server writes are
 * read straight from the body bytes, everything else goes through the WHATWG parser, and the two
 * together observe what the parser alone would (test/harness/sse-fast-path.test.ts checks it on
 * random streams at random chunk splits).
 *
 * Why: a subscriber of a framed stream receives ~100 events per socket read. Through the parser
 * each costs a share of a `TextDecoder` call, line cutting, a `data` string and an event object,
 * then `readTickFields` slices a `sym` string from the data and the observer hashes it into a Map.
 * Here an event costs a scan of its ~120 bytes, mostly four at a time, and a probe of a small
 * table keyed by a number packed from the symbol's letters: no string and no object per event.
 * bench/micro/sse-fast-path.bench.ts measured ~570 → ~160 ns of CPU per event to the fields, on
 * the 2-vCPU dev VM; with the engine's shared read buffer, the harness went from ~1.4 to ~0.5 µs
 * of CPU per delivered event on a framed stream.
 *
 * What the fast path takes, while the parser is at a block boundary (`atBlockBoundary`), is one
 * whole block byte for byte as `encodeSseEvent` + `encodeTickJson` write it, with no CR in it:
 *
 *   id: <1-16 digits, no leading zero, at most 2^53 − 1>\n
 *   event: quote|trade|status\n
 *   data: {"ts":<digits>,"sym":"<[A-Z]{1,5}>","q":<digits><anything but CR or LF>\n
 *   \n
 *
 * with `ts` and `q` under 2^53 (where reading digits four at a time gives the same double as
 * `readTickFields` reading them one by one).
 *
 * [spec] Fed to the parser, such a block sets the id buffer, the event type and data buffers, and
 * its blank line dispatches the event and sets the last event ID string to the id: the parser is
 * back at a block boundary with only `lastEventId` changed. So the fast path reports the event
 * (`onTick`, with the fields `readTickFields` reads from that data) and tells the parser the last
 * such id (`commitLastEventId`) lazily, when the parser is next fed or reset or `lastEventId` is
 * read; its text is `String(id)`, exact for such ids. No string is built per event or per chunk.
 *
 * Anything else goes to the parser: the rest of a block begun in an earlier chunk (a socket read
 * can end anywhere), the stream's start (a BOM may come), comments, `retry:`, snapshots, CR or
 * CRLF endings, other fields or field order, another server's payload, a block longer than
 * `maxLineBytes`. Each such block is fed up to the end of its blank line, after which the fast path
 * resumes if the parser is at a block boundary; after a few in one chunk, the rest of the chunk
 * is fed at once.
 */

import { Problems } from '../errors.js'
import {
  type BlockAwareSseParser,
  createBlockAwareSseParser,
  DEFAULT_SSE_PARSER_OPTIONS,
  type SseParser,
  type SseParserOptions,
} from '../wire/sse-parser.js'

/** The `event` values the fast path reads (`snapshot` has another payload: it goes to the parser). */
export type TickEventType = 'quote' | 'trade' | 'status'

export interface SseTickReaderOptions<S> extends SseParserOptions {
  /**
   * The value `onTick` is to be given for the symbol `name`: called once per distinct symbol the
   * fast path meets (the handle, never undefined, is kept in a table keyed by the symbol's bytes).
   */
  symbol: (name: string) => S
  /**
   * A tick event read by the fast path: what `readTickFields` reads from its `data`, plus its `id`
   * (as a number) and type. The parser's `onEvent` gets every other event. Like the parser's
   * callbacks it runs inside `feed`; it may call `reset()`, never `feed()`.
   */
  onTick: (symbol: S, q: number, scheduledUs: number, id: number, type: TickEventType) => void
}

/**
 * A drop-in for `SseParser` (same `feed`/`reset`/`lastEventId` contract), plus a counter; `feed`
 * also takes a range, so a caller reading into one reused buffer needs no view per read.
 */
export interface SseTickReader extends Pick<SseParser, 'reset' | 'lastEventId'> {
  /** Feeds `chunk[from, to)` (the whole chunk by default); the bytes need only last the call. */
  feed(chunk: Uint8Array, from?: number, to?: number): void
  /** Events taken by the fast path so far (the rest went through the parser). */
  readonly fastPathEvents: number
}

/**
 * Bound on distinct symbols per reader. Past it a new symbol's events go through the parser (still
 * correct, only slower); it is far above any market we generate (thousands of symbols).
 */
export const MAX_FAST_PATH_SYMBOLS = 1 << 16

const LF = 0x0a
const CR = 0x0d
const DIGIT_0 = 0x30
const UPPER_A = 0x41
const UPPER_Z = 0x5a
const MAX_SYMBOL_BYTES = 5
/** Blocks of another shape handed to the parser one by one in a chunk, before it gets the rest. */
const MAX_HAND_OFFS_PER_CHUNK = 4
const TICK_TYPES: readonly TickEventType[] = ['quote', 'trade', 'status']
/** A new reader's symbol table: 16 slots, kept at most half full: 8 symbols before it grows. */
const INITIAL_TABLE_BITS = 4

/** Creates a reader for one subscriber's event stream; `reset()` it for each new connection. */
export function createSseTickReader<S>(options: SseTickReaderOptions<S>): SseTickReader {
  const problems = new Problems()
  if (typeof options.symbol !== 'function')
    problems.add('symbol', 'must be a function', options.symbol)
  if (typeof options.onTick !== 'function')
    problems.add('onTick', 'must be a function', options.onTick)
  problems.throwIfAny('SSE tick reader options')
  const { symbol, onTick, ...parserOptions } = options
  return new TickReader(
    createBlockAwareSseParser(parserOptions),
    options.maxLineBytes ?? DEFAULT_SSE_PARSER_OPTIONS.maxLineBytes,
    symbol,
    onTick,
  )
}

/** One subscriber's reader: a class, for the same reason as the parser (one per subscriber). */
class TickReader<S> implements SseTickReader {
  private readonly parser: BlockAwareSseParser
  private readonly maxLineBytes: number
  private readonly symbolFor: (name: string) => S
  private readonly onTick: SseTickReaderOptions<S>['onTick']

  // Symbols: an open-addressing table from a key packed from the symbol's letters (5 bits each,
  // A = 1, so keys of different lengths differ and 0 marks a free slot) to the caller's handle.
  private tableBits = INITIAL_TABLE_BITS
  private keys = new Int32Array(1 << INITIAL_TABLE_BITS)
  private handles: (S | undefined)[] = new Array<S | undefined>(1 << INITIAL_TABLE_BITS)
  private symbolCount = 0
  private lastKey = 0
  private lastSymbol: S | undefined = undefined

  /** The last block the fast path took whose id the parser has not been told yet, or -1. */
  private uncommittedId = -1
  /** The last byte the parser was given (or the fast path took) was an LF. */
  private lastByteLf = false
  /** Bumped by `reset()`, so a callback that resets stops the current chunk, as in the parser. */
  private epoch = 0
  /** Events taken by the fast path so far (the rest went through the parser). */
  fastPathEvents = 0

  constructor(
    parser: BlockAwareSseParser,
    maxLineBytes: number,
    symbolFor: (name: string) => S,
    onTick: SseTickReaderOptions<S>['onTick'],
  ) {
    this.parser = parser
    this.maxLineBytes = maxLineBytes
    this.symbolFor = symbolFor
    this.onTick = onTick
  }

  get lastEventId(): string {
    this.commit()
    return this.parser.lastEventId
  }

  private commit(): void {
    if (this.uncommittedId >= 0) {
      this.parser.commitLastEventId(String(this.uncommittedId))
      this.uncommittedId = -1
    }
  }

  /** Gives `chunk[from, to)` to the parser. */
  private toParser(chunk: Uint8Array, from: number, to: number): void {
    this.commit()
    this.lastByteLf = chunk[to - 1] === LF
    this.parser.feed(from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to))
  }

  /**
   * Index just past the first blank line in `chunk[from, to)` in an LF-only view (`\n\n`, or an
   * LF at `from` after an LF), or -1. The parser may still be inside a block there (CR endings):
   * callers check `atBlockBoundary`. (A byte loop: `indexOf` cannot stop at `to`, and past it lies
   * whatever an earlier read left in a reused buffer.)
   */
  private blankLineEnd(chunk: Uint8Array, from: number, to: number): number {
    if (this.lastByteLf && chunk[from] === LF) return from + 1
    for (let i = from; i < to - 1; i++) {
      if (chunk[i] === LF && chunk[i + 1] === LF) return i + 2
    }
    return -1
  }

  private lookup(key: number): S | undefined {
    const mask = (1 << this.tableBits) - 1
    let slot = Math.imul(key, 0x9e3779b1) >>> (32 - this.tableBits)
    for (;;) {
      const found = this.keys[slot]
      if (found === key) return this.handles[slot]
      if (found === 0) return undefined
      slot = (slot + 1) & mask
    }
  }

  /** Registers the symbol whose letters start at `chunk[from]`; undefined when the table is full. */
  private intern(key: number, chunk: Uint8Array, from: number): S | undefined {
    if (this.symbolCount >= MAX_FAST_PATH_SYMBOLS) return undefined
    if ((this.symbolCount + 1) * 2 > 1 << this.tableBits) this.grow()
    let name = ''
    for (let i = from; chunk[i]! >= UPPER_A && chunk[i]! <= UPPER_Z; i++) {
      name += String.fromCharCode(chunk[i]!)
    }
    const handle = this.symbolFor(name)
    this.insert(key, handle)
    this.symbolCount++
    return handle
  }

  private insert(key: number, handle: S): void {
    const mask = (1 << this.tableBits) - 1
    let slot = Math.imul(key, 0x9e3779b1) >>> (32 - this.tableBits)
    while (this.keys[slot] !== 0) slot = (slot + 1) & mask
    this.keys[slot] = key
    this.handles[slot] = handle
  }

  private grow(): void {
    const oldKeys = this.keys
    const oldHandles = this.handles
    this.tableBits++
    this.keys = new Int32Array(1 << this.tableBits)
    this.handles = new Array<S | undefined>(1 << this.tableBits)
    for (let slot = 0; slot < oldKeys.length; slot++) {
      const key = oldKeys[slot]!
      if (key !== 0) this.insert(key, oldHandles[slot] as S)
    }
  }

  feed(chunk: Uint8Array, from = 0, to = chunk.length): void {
    if (from >= to) return
    const feedEpoch = this.epoch
    let pos = from
    let handOffs = 0
    for (;;) {
      if (this.parser.atBlockBoundary()) {
        pos = this.takeBlocks(chunk, viewOf(chunk), pos, to, feedEpoch)
        if (this.epoch !== feedEpoch || pos === to) return
      }
      // What the fast path cannot take goes to the parser up to the end of its block: the rest
      // of a block begun in an earlier chunk (or the stream's start), a heartbeat, a snapshot,
      // a block with a CR. Past a few such blocks in one chunk (a stream that is not ours), the
      // rest of the chunk goes: a parse per block would cost more than one per chunk.
      const end = handOffs < MAX_HAND_OFFS_PER_CHUNK ? this.blankLineEnd(chunk, pos, to) : -1
      handOffs++
      if (end === -1) {
        this.toParser(chunk, pos, to)
        return
      }
      this.toParser(chunk, pos, end)
      if (this.epoch !== feedEpoch || end === to) return
      pos = end
    }
  }

  /**
   * Takes the blocks of our shape from `pos` on, up to `limit`, the parser being at a block
   * boundary; returns where it stopped: `limit`, or the start of a block it cannot take (one
   * that is not ours, runs past `limit`, or has a CR: [spec] a lone CR ends a line too).
   */
  private takeBlocks(
    chunk: Uint8Array,
    view: DataView,
    pos: number,
    limit: number,
    feedEpoch: number,
  ): number {
    while (pos < limit) {
      const end = scanTickBlock(chunk, view, pos, limit)
      // [spec] the parser drops a line over `maxLineBytes`; a block within the bound has none.
      if (end === -1 || end - pos > this.maxLineBytes) return pos
      const key = scanned.symbolKey
      // Most subscribers watch few symbols: the last one is checked before the table.
      let symbol = key === this.lastKey ? this.lastSymbol : this.lookup(key)
      if (symbol === undefined) {
        symbol = this.intern(key, chunk, scanned.symbolFrom)
        if (symbol === undefined) return pos
      }
      this.lastKey = key
      this.lastSymbol = symbol
      this.uncommittedId = scanned.id
      this.lastByteLf = true
      pos = end
      this.fastPathEvents++
      this.onTick(symbol, scanned.q, scanned.ts, scanned.id, TICK_TYPES[scanned.type]!)
      if (this.epoch !== feedEpoch) return pos
    }
    return pos
  }

  reset(): void {
    this.epoch++
    // The id of a block taken before the reset was committed by its dispatch: keep it.
    this.commit()
    this.parser.reset()
    this.lastByteLf = false
  }
}

// ---------------------------------------------------------------------------------------------
// The scanner. Fixed text is compared four bytes at a time (`DataView#getInt32`, little-endian,
// which TurboFan turns into one load), digits are read four at a time where they run that long,
// and the end of the data line is found eight bytes a step. A byte loop costs ~1 ns a byte on the
// dev VM: reading the ~120 bytes of an event one by one took ~300 ns, about twice this whole
// scan. Every read stays before `limit`.

/** Four ASCII characters as the word `DataView#getInt32(at, true)` reads from their bytes. */
function word(text: string): number {
  return (
    text.charCodeAt(0) |
    (text.charCodeAt(1) << 8) |
    (text.charCodeAt(2) << 16) |
    (text.charCodeAt(3) << 24)
  )
}

// The fixed text of a block, as words (the last word of a text may overlap the one before).
const ID_FIELD = word('id: ')
/** `\nevent: ` */
const EVENT_1 = word('\neve')
const EVENT_2 = word('nt: ')
/** `quote\ndata: {"ts":` and `trade\ndata: {"ts":` at +0, +4, +8, +12, +14 */
const TYPE_QUOTE = word('quot')
const TYPE_TRADE = word('trad')
const QT_DATA_1 = word('e\nda')
const QT_DATA_2 = word('ta: ')
const QT_DATA_3 = word('{"ts')
/** `status\ndata: {"ts":` at +0, +4, +8, +12, +15 */
const TYPE_STATUS = word('stat')
const STATUS_DATA_1 = word('us\nd')
const STATUS_DATA_2 = word('ata:')
const STATUS_DATA_3 = word(' {"t')
/** The last word of both, `ts":` */
const TS_COLON = word('ts":')
/** `,"sym":"` */
const SYM_1 = word(',"sy')
const SYM_2 = word('m":"')
/** `","q":` at +0, +2 */
const Q_1 = word('","q')
const Q_2 = word('"q":')
/** `\nevent: ` + `status\ndata: {"ts":`, the longest fixed run, checked for room once. */
const EVENT_TO_TS_MAX_BYTES = 8 + 19
const LF_WORD = 0x0a0a0a0a
const CR_WORD = 0x0d0d0d0d

/**
 * A view of `chunk` for the scanner, made once per distinct chunk in a row: a caller that reads
 * into one reused buffer (the SSE engine) gets the same view for every read.
 */
let viewChunk: Uint8Array | undefined
let viewOfChunk: DataView | undefined
function viewOf(chunk: Uint8Array): DataView {
  if (chunk !== viewChunk || viewOfChunk === undefined) {
    viewOfChunk = new DataView(chunk.buffer, chunk.byteOffset, chunk.length)
    viewChunk = chunk
  }
  return viewOfChunk
}

/** The classic zero-byte test: the high bit of every zero byte of `word` set (and maybe above one). */
function zeroBytes(word: number): number {
  return (word - 0x01010101) & ~word & 0x80808080
}

/** Index (0-3) of the lowest byte flagged in a zero-byte test's result. */
function lowestByte(flags: number): number {
  return (31 - Math.clz32(flags & -flags)) >>> 3
}

/** What `scanTickBlock` read (one object for all readers: no allocation per event). */
const scanned = { id: 0, type: 0, ts: 0, symbolKey: 0, symbolFrom: 0, q: 0, digitsEnd: 0 }

/**
 * Reads the run of ASCII digits at `at` and returns its value, computed as `readTickFields` does
 * (left to right, value × 10 + digit: exact, hence the same, while under 2^53); `scanned.digitsEnd`
 * is where the run ends. Four digits at a time while the run lasts: a word is four digits when
 * the high nibble of every byte is 3, before and after adding 6 to each byte. (Eight a step, as
 * two int32 halves with one double multiply-add, measured ~25 % slower over the whole scan.)
 */
function readDigits(chunk: Uint8Array, view: DataView, at: number, limit: number): number {
  let value = 0
  while (at + 4 <= limit) {
    const word = view.getInt32(at, true)
    if ((word & 0xf0f0f0f0) !== 0x30303030 || ((word + 0x06060606) & 0xf0f0f0f0) !== 0x30303030)
      break
    // Little-endian: the first digit is the low byte. Pairs, then the pair of pairs.
    const digits = word & 0x0f0f0f0f
    const pairs = (Math.imul(digits, 10) + (digits >>> 8)) & 0x00ff00ff
    value = value * 10_000 + ((pairs & 0xff) * 100 + (pairs >>> 16))
    at += 4
  }
  while (at < limit) {
    const byte = chunk[at]! - DIGIT_0
    if (byte < 0 || byte > 9) break
    value = value * 10 + byte
    at++
  }
  scanned.digitsEnd = at
  return value
}

/**
 * If `chunk[pos, …)` is one whole block of our shape ending before `limit` (see the top of the
 * file), fills `scanned` and returns the index just past its blank line; otherwise -1.
 */
function scanTickBlock(chunk: Uint8Array, view: DataView, pos: number, limit: number): number {
  // id: <digits>
  if (pos + 4 > limit || view.getInt32(pos, true) !== ID_FIELD) return -1
  const idFrom = pos + 4
  const id = readDigits(chunk, view, idFrom, limit)
  let at = scanned.digitsEnd
  const idDigits = at - idFrom
  // [spec] the id's text is what the parser commits: `String(id)` must give it back.
  if (idDigits === 0 || id > Number.MAX_SAFE_INTEGER || (chunk[idFrom] === DIGIT_0 && idDigits > 1))
    return -1

  // \nevent: quote|trade|status\ndata: {"ts":
  if (
    at + EVENT_TO_TS_MAX_BYTES > limit ||
    view.getInt32(at, true) !== EVENT_1 ||
    view.getInt32(at + 4, true) !== EVENT_2
  )
    return -1
  const typeWord = view.getInt32(at + 8, true)
  let type: number
  if (typeWord === TYPE_QUOTE || typeWord === TYPE_TRADE) {
    if (
      view.getInt32(at + 12, true) !== QT_DATA_1 ||
      view.getInt32(at + 16, true) !== QT_DATA_2 ||
      view.getInt32(at + 20, true) !== QT_DATA_3 ||
      view.getInt32(at + 22, true) !== TS_COLON
    )
      return -1
    type = typeWord === TYPE_QUOTE ? 0 : 1
    at += 26
  } else if (typeWord === TYPE_STATUS) {
    if (
      view.getInt32(at + 12, true) !== STATUS_DATA_1 ||
      view.getInt32(at + 16, true) !== STATUS_DATA_2 ||
      view.getInt32(at + 20, true) !== STATUS_DATA_3 ||
      view.getInt32(at + 23, true) !== TS_COLON
    )
      return -1
    type = 2
    at += 27
  } else return -1

  // <ts digits>,"sym":"<A-Z>{1,5}","q":<q digits>
  const ts = readDigits(chunk, view, at, limit)
  at = scanned.digitsEnd
  if (
    ts > Number.MAX_SAFE_INTEGER ||
    at + 8 > limit ||
    view.getInt32(at, true) !== SYM_1 ||
    view.getInt32(at + 4, true) !== SYM_2
  )
    return -1
  at += 8
  const symbolFrom = at
  let symbolKey = 0
  while (at < limit && at - symbolFrom < MAX_SYMBOL_BYTES) {
    const byte = chunk[at]!
    if (byte < UPPER_A || byte > UPPER_Z) break
    symbolKey = symbolKey * 32 + (byte - 0x40)
    at++
  }
  if (
    at === symbolFrom ||
    at + 6 > limit ||
    view.getInt32(at, true) !== Q_1 ||
    view.getInt32(at + 2, true) !== Q_2
  )
    return -1
  at += 6
  const q = readDigits(chunk, view, at, limit)
  at = scanned.digitsEnd
  if (q > Number.MAX_SAFE_INTEGER) return -1

  // The rest of the data line is not read, only searched for its end: an LF, or a CR (the fixed
  // text and the digits cannot hold one; a block with a CR goes to the parser). Eight bytes a
  // step: a word holds an LF when (word ^ LF×4) has a zero byte, and the lowest byte flagged by
  // the classic zero-byte test is always a real one (false flags only sit above a real zero), so
  // the lowest flag of the LF and CR tests together is the first LF or CR.
  let lf = -1
  while (at + 8 <= limit) {
    const x = view.getInt32(at, true)
    const y = view.getInt32(at + 4, true)
    const xFlags = zeroBytes(x ^ LF_WORD) | zeroBytes(x ^ CR_WORD)
    const yFlags = zeroBytes(y ^ LF_WORD) | zeroBytes(y ^ CR_WORD)
    if ((xFlags | yFlags) !== 0) {
      lf = xFlags !== 0 ? at + lowestByte(xFlags) : at + 4 + lowestByte(yFlags)
      break
    }
    at += 8
  }
  if (lf === -1) {
    while (at < limit && chunk[at] !== LF && chunk[at] !== CR) at++
    lf = at
  }
  // …and a blank line.
  if (lf + 1 >= limit || chunk[lf] !== LF || chunk[lf + 1] !== LF) return -1

  scanned.id = id
  scanned.type = type
  scanned.ts = ts
  scanned.symbolKey = symbolKey
  scanned.symbolFrom = symbolFrom
  scanned.q = q
  return lf + 2
}
