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
import { LF, scanned, scanTickBlock, UPPER_A, UPPER_Z, viewOf } from './sse-tick-scanner.js'

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
  /**
   * False: every event goes to the parser (a target whose `ts` is not µs, or whose fields are
   * named otherwise, must not be read as tickstorm's). Default true.
   */
  fastPath?: boolean
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
  const { symbol, onTick, fastPath, ...parserOptions } = options
  return new TickReader(
    createBlockAwareSseParser(parserOptions),
    options.maxLineBytes ?? DEFAULT_SSE_PARSER_OPTIONS.maxLineBytes,
    symbol,
    onTick,
    fastPath ?? true,
  )
}

/** One subscriber's reader: a class, for the same reason as the parser (one per subscriber). */
class TickReader<S> implements SseTickReader {
  private readonly parser: BlockAwareSseParser
  private readonly maxLineBytes: number
  private readonly symbolFor: (name: string) => S
  private readonly onTick: SseTickReaderOptions<S>['onTick']
  private readonly fastPath: boolean

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
    fastPath: boolean,
  ) {
    this.fastPath = fastPath
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
    if (!this.fastPath) {
      this.toParser(chunk, from, to)
      return
    }
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
