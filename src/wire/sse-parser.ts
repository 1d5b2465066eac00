/**
 * Incremental `text/event-stream` parser: bytes in, browser-exact events out.
 *
 * It follows WHATWG HTML §9.2.6 "Parsing an event stream" and "Interpreting an event stream"
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation),
 * as restated with sources in `reference/sse.md` §2. Comments that say [spec] quote that text.
 *
 * Cost model (the load harness runs one parser per subscriber, ~1M events/s in total):
 * - The bytes of a chunk are scanned back from its end for the last CR or LF; everything
 *   before it is whole lines, decoded by one `TextDecoder.decode` call, and the lines are cut
 *   from that string with `indexOf`. So every line's bytes are decoded exactly once. Measured on
 *   Node 20 with tick frames: a decode call per line costs ~150 ns (more than the rest of the
 *   parse), and finding LFs with `Uint8Array#indexOf` or a byte loop costs ~4x what
 *   `String#indexOf` does on the decoded text; decoding 16 KiB at once runs at ~5 GB/s.
 * - A run of complete lines always ends just after a CR or LF, both ASCII, so it never ends
 *   inside a UTF-8 sequence. The UTF-8 decoder also treats an ASCII byte after an unfinished
 *   sequence as "emit U+FFFD, then this byte", so decoding each such run on its own gives
 *   exactly the code points a decoder of the whole stream would. That is what makes a character
 *   split across chunks decode once and correctly, without a streaming decoder.
 * - A partial line is kept as copied byte fragments and joined once, when its terminator
 *   arrives. Joining a prefix to every new chunk instead is O(N²) for a long line fed in small
 *   pieces. The copies matter: uWebSockets.js reuses a chunk's memory after its callback.
 * - `event.data` is usually a slice of the decoded chunk string, and V8 keeps the whole chunk
 *   string (up to one chunk, e.g. 16 KiB) alive while any slice of it is referenced. A consumer
 *   that retains many events should copy or parse `data` rather than keep the string.
 */

import { ERROR_CODES, Problems, TickstormError } from '../errors.js'

/** One dispatched event, with the values a browser's `MessageEvent` would carry. */
export interface SseEvent {
  /** The `event` field, or `message` when the block had none or an empty one. */
  type: string
  /** The block's `data` lines joined with LF. */
  data: string
  /** The EventSource's last event ID string at dispatch (it persists across blocks). */
  lastEventId: string
}

/** Errors the parser reports through `onError` (code `TS_ERR_SSE_LINE_TOO_LONG`). */
export type SseParserError = TickstormError

export interface SseParserOptions {
  /** Called once per dispatched event (a block with at least one `data` line). */
  onEvent: (event: SseEvent) => void
  /** Called with the reconnection time of each valid `retry` field, in ms. */
  onRetry?: (retryMs: number) => void
  /**
   * Called for each comment line (one starting with `:`) with the text after the colon, one
   * leading U+0020 removed, as for field values. Heartbeats `: hb 42` arrive as `hb 42`.
   */
  onComment?: (comment: string) => void
  /**
   * Bound on one line's bytes, terminator excluded. A longer line is dropped, parsing goes on
   * with the next line, and `onError` gets one `TS_ERR_SSE_LINE_TOO_LONG` per dropped line.
   * At most this many bytes of a partial line are ever buffered.
   * @defaultValue 1 MiB
   */
  maxLineBytes?: number
  /** Called for each dropped over-long line. Parsing errors never throw. */
  onError?: (error: SseParserError) => void
  /** The committed last event ID to start from (an EventSource reconnecting passes its own). */
  lastEventId?: string
}

export interface SseParser {
  /**
   * Parses the next chunk of the stream; chunks may split lines, CRLF pairs and UTF-8
   * sequences anywhere. The chunk is not kept: the bytes of a partial line are copied.
   * Callbacks run synchronously inside `feed`. A callback may call `reset()`, which discards
   * the rest of the chunk; a callback must not call `feed()`.
   */
  feed(chunk: Uint8Array): void
  /** What a browser's EventSource would report as its last event ID string right now (committed at block end only). */
  readonly lastEventId: string
  /** Drops any partial line/block (end of stream / new connection) but keeps lastEventId, like a reconnecting EventSource. */
  reset(): void
}

/**
 * The parser with the two hooks of the load harness's fast path for tick events
 * (`src/harness/sse-fast-path.ts`), which reads whole blocks itself between parser calls. Internal:
 * the package exports `createSseParser` and `SseParser` only; a user of the parser has no block
 * to interpret instead of it, and a wrong call would corrupt its state.
 */
export interface BlockAwareSseParser extends SseParser {
  /**
   * True when the parser holds nothing of a block: no partial line, pending CR or BOM bytes, and
   * the data, event type and id buffers as a blank line leaves them (the id buffer equal to
   * `lastEventId`). Its state is then a function of `lastEventId` alone, and the next byte starts
   * a new block, so a caller may interpret a whole block itself instead of feeding it (the load
   * harness's fast path for tick events, `src/harness/sse-fast-path.ts`). A method, not a getter:
   * that path asks once per socket read, and a getter on an object per subscriber cost more.
   */
  atBlockBoundary(): boolean
  /**
   * Records a whole block that the caller interpreted itself while `atBlockBoundary()`, whose `id`
   * field had the value `id` (no U+0000; the caller has dispatched its event). [spec] Its
   * dispatch sets the last event ID string to the id buffer, so both become `id`: the state
   * feeding the block would have left. Anywhere else it would corrupt the block being parsed,
   * so it throws `TS_ERR_INTERNAL` there.
   */
  commitLastEventId(id: string): void
}

export const DEFAULT_SSE_PARSER_OPTIONS = Object.freeze({
  /** Far above any tick frame, low enough that a runaway line cannot eat a worker's heap. */
  maxLineBytes: 1024 * 1024,
  lastEventId: '',
})

// Bytes, and the same values as UTF-16 code units in decoded text.
const LF = 0x0a
const CR = 0x0d
const SPACE = 0x20
const COLON = 0x3a
const NUL = '\0'
const BOM_BYTES = Uint8Array.of(0xef, 0xbb, 0xbf)

/**
 * [spec] "Streams must be decoded using the UTF-8 decode algorithm", whatever `charset` says
 * (wpt format-utf-8), invalid bytes becoming U+FFFD (`fatal: false`). `ignoreBOM: true`
 * because a non-streaming `decode()` call would otherwise strip a U+FEFF at the start of every
 * run it is given, while only the one at the start of the stream may go (wpt format-bom):
 * that one is stripped from the bytes in `feed`. Shared by all parsers: non-streaming calls keep
 * no state between them.
 */
const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })

/** Creates a parser for one event stream; `reset()` it for each new connection. */
export function createSseParser(options: SseParserOptions): SseParser {
  return new Parser(resolveSseParserOptions(options))
}

/** The same parser with the fast path's hooks (internal; see `BlockAwareSseParser`). */
export function createBlockAwareSseParser(options: SseParserOptions): BlockAwareSseParser {
  return new Parser(resolveSseParserOptions(options))
}

/**
 * The parser's state in one object. A class, not a closure per method: a load harness holds one
 * parser per subscriber (19k of them), and a closure factory cost each ≈ 2 KB and ≈ 5 µs to make.
 */
class Parser implements BlockAwareSseParser {
  private readonly onEvent: (event: SseEvent) => void
  private readonly onRetry: ((retryMs: number) => void) | undefined
  private readonly onComment: ((comment: string) => void) | undefined
  private readonly onError: ((error: SseParserError) => void) | undefined
  private readonly maxLineBytes: number

  // [spec] "a data buffer, an event type buffer, and a last event ID buffer ... must be
  // initialized to the empty string"; the id buffer of a new connection starts at the
  // committed id (Blink builds its parser with the EventSource's last event ID).
  private data = ''
  private hasData = false // data buffer non-empty: a `data` line was seen, even with an empty value
  private eventType = ''
  private idBuffer: string
  /** The EventSource's "last event ID string": set from `idBuffer` at dispatch only. */
  lastEventId: string

  /** Copied bytes of the current partial line, joined once when its terminator arrives. */
  private readonly pending: Uint8Array[] = []
  private pendingBytes = 0
  /** The current line went over `maxLineBytes`: drop bytes until its terminator. */
  private discarding = false
  /** The last byte seen was a CR that ended a line; an LF starting the next chunk is its pair. */
  private skipLf = false
  /** Still at the start of the stream; `bomMatched` BOM bytes have been held back so far. */
  private atStreamStart = true
  private bomMatched = 0
  /** Bumped by `reset()`, so a callback that resets stops the parse of the current chunk. */
  private epoch = 0

  constructor(options: ResolvedSseParserOptions) {
    this.onEvent = options.onEvent
    this.onRetry = options.onRetry
    this.onComment = options.onComment
    this.onError = options.onError
    this.maxLineBytes = options.maxLineBytes
    this.idBuffer = options.initialLastEventId
    this.lastEventId = options.initialLastEventId
  }

  feed(chunk: Uint8Array): void {
    const len = chunk.length
    if (len === 0) return
    const feedEpoch = this.epoch
    let pos = 0

    if (this.skipLf) {
      // [spec] a line ends at "a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF) character pair
      // ... [or] a single U+000D CARRIAGE RETURN (CR) character not followed by a U+000A LINE
      // FEED (LF)". The CR already ended its line; this LF is its second half, not a blank
      // line. Treating it as one would dispatch mid-event (eventsource-parser issue #17).
      this.skipLf = false
      if (chunk[0] === LF) pos = 1
    } else if (this.atStreamStart) {
      pos = this.stripBom(chunk)
      if (pos === len) return
    }

    // A line begun in an earlier chunk: find its end in this one.
    if (this.pendingBytes > 0 || this.discarding) {
      const end = firstTerminator(chunk, pos)
      if (end === -1) {
        this.holdPartialLine(chunk, pos, len)
        return
      }
      if (this.discarding) {
        this.discarding = false
      } else if (this.pendingBytes + (end - pos) > this.maxLineBytes) {
        this.dropPending()
        this.lineTooLong()
      } else {
        const text = decoder.decode(this.joinPending(chunk, pos, end))
        this.processLine(text, 0, text.length)
      }
      if (this.epoch !== feedEpoch) return
      pos = end + 1
      if (chunk[end] === CR) {
        if (pos === len) {
          this.skipLf = true
          return
        }
        if (chunk[pos] === LF) pos++
      }
      if (pos === len) return
    }

    // The complete lines of this chunk end at its last CR or LF. Scanning back from the end
    // costs only the length of the trailing partial line (zero when the chunk ends in LF).
    let last = len - 1
    while (last >= pos) {
      const byte = chunk[last]
      if (byte === LF || byte === CR) break
      last--
    }
    if (last >= pos) {
      this.processCompleteLines(chunk, pos, last + 1)
      if (this.epoch !== feedEpoch) return
      if (last === len - 1) {
        this.skipLf = chunk[last] === CR
        return
      }
    }
    this.holdPartialLine(chunk, last + 1, len)
  }

  /**
   * [spec] the stream grammar starts with an optional `bom`, and the UTF-8 decode algorithm
   * strips one leading U+FEFF, so exactly one BOM at byte 0 of the stream is skipped (wpt
   * format-bom, format-bom-2). Its three bytes may arrive in three chunks, so matched bytes are
   * held back; if the stream turns out not to start with a BOM, they become the start of the
   * first line. Returns the index of the first byte to parse.
   */
  private stripBom(chunk: Uint8Array): number {
    let i = 0
    while (i < chunk.length) {
      if (chunk[i] !== BOM_BYTES[this.bomMatched]) {
        this.atStreamStart = false
        if (this.bomMatched > 0) {
          this.pending.push(BOM_BYTES.subarray(0, this.bomMatched)) // constant bytes, never written
          this.pendingBytes = this.bomMatched
        }
        return i
      }
      i++
      if (++this.bomMatched === BOM_BYTES.length) {
        this.atStreamStart = false
        return i
      }
    }
    return i
  }

  /** Keeps `chunk[from, to)`, the start of a line with no terminator yet, within the bound. */
  private holdPartialLine(chunk: Uint8Array, from: number, to: number): void {
    if (from === to || this.discarding) return
    if (this.pendingBytes + (to - from) > this.maxLineBytes) {
      // Reported now, not at the terminator: a peer may never send one.
      this.dropPending()
      this.discarding = true
      this.lineTooLong()
      return
    }
    // A copy, not a view (and not `Buffer#slice`, which is a view): the caller may reuse the
    // chunk's memory as soon as `feed` returns.
    const copy = new Uint8Array(to - from)
    copy.set(chunk.subarray(from, to))
    this.pending.push(copy)
    this.pendingBytes += to - from
  }

  private joinPending(chunk: Uint8Array, from: number, to: number): Uint8Array {
    const line = new Uint8Array(this.pendingBytes + (to - from))
    let offset = 0
    for (const fragment of this.pending) {
      line.set(fragment, offset)
      offset += fragment.length
    }
    line.set(chunk.subarray(from, to), offset)
    this.dropPending()
    return line
  }

  private dropPending(): void {
    this.pending.length = 0
    this.pendingBytes = 0
  }

  /** `chunk[from, to)` holds whole lines only: it ends just after a CR or LF. */
  private processCompleteLines(chunk: Uint8Array, from: number, to: number): void {
    // No line in the range can be over the bound if the range itself is not.
    if (to - from <= this.maxLineBytes) {
      this.processText(
        decoder.decode(from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to)),
      )
      return
    }
    // Rare (a chunk larger than `maxLineBytes`): measure lines in bytes, decode and parse the
    // runs between over-long lines, drop those lines.
    const feedEpoch = this.epoch
    let runStart = from
    let lineStart = from
    let nextLf = -2
    let nextCr = -2
    while (lineStart < to) {
      // Each search starts past the previous hit, so the whole range is scanned about once.
      if (nextLf !== -1 && nextLf < lineStart) nextLf = chunk.indexOf(LF, lineStart)
      if (nextCr !== -1 && nextCr < lineStart) nextCr = chunk.indexOf(CR, lineStart)
      // The range ends with a terminator, so at least one of them is found before `to`.
      const end = nextCr === -1 || (nextLf !== -1 && nextLf < nextCr) ? nextLf : nextCr
      let next = end + 1
      if (end === nextCr && next < to && chunk[next] === LF) next++
      if (end - lineStart > this.maxLineBytes) {
        if (runStart < lineStart)
          this.processText(decoder.decode(chunk.subarray(runStart, lineStart)))
        if (this.epoch !== feedEpoch) return
        this.lineTooLong()
        if (this.epoch !== feedEpoch) return
        runStart = next
      }
      lineStart = next
    }
    if (runStart < to) this.processText(decoder.decode(chunk.subarray(runStart, to)))
  }

  /** Parses decoded text made of whole lines (it ends with CR or LF). */
  private processText(text: string): void {
    const feedEpoch = this.epoch
    let start = 0
    let cr = text.indexOf('\r')
    let lf = text.indexOf('\n')
    if (cr === -1) {
      // Fast path, LF-only text (what every sane server sends): one search per line.
      while (lf !== -1) {
        if (lf === start) this.dispatch()
        else this.processLine(text, start, lf)
        if (this.epoch !== feedEpoch) return
        start = lf + 1
        lf = text.indexOf('\n', start)
      }
      return
    }
    // [spec] lines end at CRLF, LF or a lone CR. Each search resumes past its last hit, so a
    // lone CR far ahead is not searched for again on every line (that would be O(N²)).
    const end = text.length
    while (start < end) {
      if (lf !== -1 && lf < start) lf = text.indexOf('\n', start)
      if (cr !== -1 && cr < start) cr = text.indexOf('\r', start)
      const lineStart = start
      if (cr === -1 || (lf !== -1 && lf < cr)) {
        start = lf + 1
        this.processLine(text, lineStart, lf)
      } else {
        start = text.charCodeAt(cr + 1) === LF ? cr + 2 : cr + 1
        this.processLine(text, lineStart, cr)
      }
      if (this.epoch !== feedEpoch) return
    }
  }

  /**
   * Interprets the line `text[start, end)`. `text` continues past `end` with the line's CR or LF,
   * or ends at `end`; either way `charCodeAt` there matches no letter, colon or space, which lets
   * the name checks below read ahead without bounds tests.
   */
  private processLine(text: string, start: number, end: number): void {
    // [spec] "If the line is empty (a blank line): Dispatch the event."
    if (start === end) {
      this.dispatch()
      return
    }
    // [spec] "If the line contains a U+003A COLON character (:)": the field name is what comes
    // before the first colon; with no colon the whole line is the name and the value is "".
    // [spec] "Field names must be compared literally, with no case folding performed." Only
    // four names mean anything, so the line is matched against them directly: any other line
    // is ignored without searching for its colon.
    switch (text.charCodeAt(start)) {
      case 0x64: // d
        if (
          text.charCodeAt(start + 1) === 0x61 &&
          text.charCodeAt(start + 2) === 0x74 &&
          text.charCodeAt(start + 3) === 0x61
        ) {
          const after = start + 4
          if (after === end) this.appendData('')
          else if (text.charCodeAt(after) === COLON)
            this.appendData(this.fieldValue(text, after + 1, end))
        }
        return
      case 0x65: // e
        if (
          text.charCodeAt(start + 1) === 0x76 &&
          text.charCodeAt(start + 2) === 0x65 &&
          text.charCodeAt(start + 3) === 0x6e &&
          text.charCodeAt(start + 4) === 0x74
        ) {
          const after = start + 5
          // [spec] "If the field name is "event": Set the event type buffer to field value."
          if (after === end) this.eventType = ''
          else if (text.charCodeAt(after) === COLON)
            this.eventType = this.fieldValue(text, after + 1, end)
        }
        return
      case 0x69: // i
        if (text.charCodeAt(start + 1) === 0x64) {
          const after = start + 2
          // [spec] "If the field name is "id": If the field value does not contain U+0000 NULL,
          // then set the last event ID buffer to the field value. Otherwise, ignore the field."
          // An empty value is allowed: it clears the id (wpt format-field-id-3).
          if (after === end) this.idBuffer = ''
          else if (text.charCodeAt(after) === COLON) {
            const value = this.fieldValue(text, after + 1, end)
            if (!value.includes(NUL)) this.idBuffer = value
          }
        }
        return
      case 0x72: // r
        if (
          text.charCodeAt(start + 1) === 0x65 &&
          text.charCodeAt(start + 2) === 0x74 &&
          text.charCodeAt(start + 3) === 0x72 &&
          text.charCodeAt(start + 4) === 0x79 &&
          text.charCodeAt(start + 5) === COLON
        ) {
          // `retry` without a colon has the value "", which is ignored below.
          this.retry(this.fieldValue(text, start + 6, end))
        }
        return
      case COLON:
        // [spec] "If the line starts with a U+003A COLON character (:): Ignore the line."
        // Comments never end a block (wpt format-comments); they are only reported.
        if (this.onComment !== undefined) this.onComment(this.fieldValue(text, start + 1, end))
        return
      default:
        // [spec] "Otherwise: The field is ignored." (`Data`, ` data`, `data `, `foo`...)
        return
    }
  }

  /** [spec] "If value starts with a U+0020 SPACE character, remove it from value." One only. */
  private fieldValue(text: string, from: number, end: number): string {
    return text.slice(text.charCodeAt(from) === SPACE ? from + 1 : from, end)
  }

  /**
   * [spec] "If the field name is "data": Append the field value to the data buffer, then append
   * a single U+000A LINE FEED (LF) character to the data buffer." The trailing LF that dispatch
   * would remove is never added: values are joined with LF, and `hasData` remembers that the
   * buffer is non-empty even when it holds a single empty value (`data\n\n` fires "").
   */
  private appendData(value: string): void {
    if (this.hasData) {
      this.data = `${this.data}\n${value}`
    } else {
      this.data = value
      this.hasData = true
    }
  }

  /**
   * [spec] "If the field name is "retry": If the field value consists of only ASCII digits, then
   * interpret the field value as an integer in base ten, and set the event stream's
   * reconnection time to that integer. Otherwise, ignore the field." So `03000` is 3000 (wpt
   * format-field-retry) and "", `1000x`, `-1`, `1.5`, ` 1000`, `1e3` are ignored. Values past
   * 2^53 − 1 are ignored too: a double cannot hold them exactly (Blink likewise ignores values
   * that overflow its integer).
   */
  private retry(value: string): void {
    const length = value.length
    if (length === 0) return
    for (let i = 0; i < length; i++) {
      const code = value.charCodeAt(i)
      if (code < 0x30 || code > 0x39) return
    }
    const retryMs = Number(value)
    if (retryMs <= Number.MAX_SAFE_INTEGER && this.onRetry !== undefined) this.onRetry(retryMs)
  }

  private dispatch(): void {
    // [spec] "Set the last event ID string of the event source to the value of the last event
    // ID buffer. The buffer does not get reset" - even when no event fires below, so an
    // id-only block (`id: 42\n\n`) moves the resume point.
    this.lastEventId = this.idBuffer
    // [spec] "If the data buffer is an empty string, set the data buffer and the event type
    // buffer to the empty string and return."
    if (!this.hasData) {
      this.eventType = ''
      return
    }
    // [spec] "Initialize event's type attribute to "message", its data attribute to data, ...
    // and its lastEventId attribute to the last event ID string of the event source. If the
    // event type buffer has a value other than the empty string, change the type ... to equal
    // the value of the event type buffer." Then "Set the data buffer and the event type buffer
    // to the empty string." Buffers are cleared before the callback, so it sees a clean parser.
    const event: SseEvent = {
      type: this.eventType === '' ? 'message' : this.eventType,
      data: this.data,
      lastEventId: this.lastEventId,
    }
    this.data = ''
    this.hasData = false
    this.eventType = ''
    this.onEvent(event)
  }

  private lineTooLong(): void {
    if (this.onError === undefined) return
    this.onError(
      new TickstormError(
        ERROR_CODES.SSE_LINE_TOO_LONG,
        `an event-stream line is longer than maxLineBytes (${this.maxLineBytes}); it was dropped`,
        { details: { maxLineBytes: this.maxLineBytes } },
      ),
    )
  }

  reset(): void {
    this.epoch++
    this.dropPending()
    this.discarding = false
    this.skipLf = false
    this.atStreamStart = true
    this.bomMatched = 0
    // [spec] "Once the end of the file is reached, any pending data must be discarded. (If the
    // file ends in the middle of an event, before the final empty line, the incomplete event is
    // not dispatched.)" An id read in that block was never committed: the new connection's
    // id buffer starts from the committed one (wpt format-data-before-final-empty-line).
    this.data = ''
    this.hasData = false
    this.eventType = ''
    this.idBuffer = this.lastEventId
  }

  atBlockBoundary(): boolean {
    return (
      this.pendingBytes === 0 &&
      !this.discarding &&
      !this.skipLf &&
      !this.atStreamStart &&
      !this.hasData &&
      this.eventType === '' &&
      this.idBuffer === this.lastEventId
    )
  }

  commitLastEventId(id: string): void {
    if (!this.atBlockBoundary()) {
      throw new TickstormError(
        ERROR_CODES.INTERNAL,
        'commitLastEventId called inside a block: the block would lose its fields',
      )
    }
    this.idBuffer = id
    this.lastEventId = id
  }
}

/** Index of the first CR or LF at or after `from`, or -1. */
function firstTerminator(chunk: Uint8Array, from: number): number {
  const lf = chunk.indexOf(LF, from)
  // Search for a CR only before the LF: the common case scans no further than the line.
  const crEnd = lf === -1 ? chunk.length : lf
  for (let i = from; i < crEnd; i++) if (chunk[i] === CR) return i
  return lf
}

interface ResolvedSseParserOptions {
  readonly onEvent: (event: SseEvent) => void
  readonly onRetry: ((retryMs: number) => void) | undefined
  readonly onComment: ((comment: string) => void) | undefined
  readonly onError: ((error: SseParserError) => void) | undefined
  readonly maxLineBytes: number
  readonly initialLastEventId: string
}

/** Validates options, reporting every problem at once (TS_ERR_INVALID_OPTIONS). */
function resolveSseParserOptions(options: SseParserOptions): ResolvedSseParserOptions {
  const problems = new Problems()
  const given: Partial<Record<keyof SseParserOptions, unknown>> =
    typeof options === 'object' && options !== null ? options : {}
  if (typeof given.onEvent !== 'function')
    problems.add('onEvent', 'must be a function', given.onEvent)
  for (const key of ['onRetry', 'onComment', 'onError'] as const) {
    const value = given[key]
    if (value !== undefined && typeof value !== 'function')
      problems.add(key, 'must be a function', value)
  }
  const maxLineBytes = given.maxLineBytes ?? DEFAULT_SSE_PARSER_OPTIONS.maxLineBytes
  problems.int('maxLineBytes', maxLineBytes, 1, Number.MAX_SAFE_INTEGER)
  const lastEventId = given.lastEventId ?? DEFAULT_SSE_PARSER_OPTIONS.lastEventId
  if (typeof lastEventId !== 'string') problems.add('lastEventId', 'must be a string', lastEventId)
  problems.unknownKeys('', given, {
    onEvent: 0,
    onRetry: 0,
    onComment: 0,
    maxLineBytes: 0,
    onError: 0,
    lastEventId: 0,
  })
  problems.throwIfAny('SSE parser options')
  return Object.freeze({
    onEvent: options.onEvent,
    onRetry: options.onRetry,
    onComment: options.onComment,
    onError: options.onError,
    maxLineBytes: maxLineBytes as number,
    initialLastEventId: lastEventId as string,
  })
}
