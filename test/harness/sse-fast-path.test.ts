/**
 * The SSE engine's fast path (src/harness/sse-fast-path.ts) against the WHATWG parser alone.
 *
 * The property: for any stream of our tick events mixed with near-misses (one byte changed,
 * inserted or removed), comments, `retry:` lines, snapshots, CR and CRLF endings, a BOM, unknown
 * fields and stray bytes, cut into chunks anywhere, the reader (fast path + parser) and the parser
 * alone give the same observations in the same order: each event as the engine sees it (a tick's
 * type, symbol, `q`, `ts` and last event ID; any other event's type, data and last event ID),
 * every `retry`, comment and dropped over-long line, and `lastEventId` after every chunk. Variants
 * read `lastEventId` inside every callback and call `reset()` from a callback.
 */

import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { readTickFields, type TickFields } from '../../src/harness/event-observer.js'
import { createSseTickReader, type SseTickReader } from '../../src/harness/sse-fast-path.js'
import type { Tick, TradeCondition, TradingStatus } from '../../src/market/types.js'
import { encodeSseEvent, encodeSsePreamble, SSE_HEARTBEAT } from '../../src/wire/sse-frame.js'
import {
  createBlockAwareSseParser,
  createSseParser,
  type SseEvent,
  type SseParser,
} from '../../src/wire/sse-parser.js'
import { encodeTickJson } from '../../src/wire/tick-json.js'
import { concatBytes, fuzzRuns, splitAt } from '../helpers/fuzz.js'

/** One observation, in the order it was made. */
type Seen =
  | readonly ['tick', string, string, number, number, string]
  | readonly ['event', string, string, string]
  | readonly ['retry', number]
  | readonly ['comment', string]
  | readonly ['error', string]
  | readonly ['peek', string]
  | readonly ['chunk', string]

interface RunOptions {
  readonly maxLineBytes?: number
  readonly lastEventId?: string
  /** Read `lastEventId` inside every event callback. */
  readonly peek?: boolean
  /** Call `reset()` from the callback of the n-th event (0-based), then go on with the next chunk. */
  readonly resetAtEvent?: number
}

interface Run {
  readonly seen: Seen[]
  /** Events the fast path took (0 for the parser alone). */
  readonly fast: number
}

const encoder = new TextEncoder()
const BOM = Uint8Array.of(0xef, 0xbb, 0xbf)

/** An event as the SSE engine sees it: a tick when `readTickFields` reads it, else its data. */
function seenEvent(event: SseEvent): Seen {
  const fields: TickFields = { ts: 0, sym: '', q: 0 }
  return readTickFields(event.data, fields)
    ? ['tick', event.type, fields.sym, fields.q, fields.ts, event.lastEventId]
    : ['event', event.type, event.data, event.lastEventId]
}

/**
 * Feeds the chunks through a scratch buffer that is overwritten after every `feed`, as a socket
 * reuses its memory: anything kept as a view instead of copied would show up as garbage. The tick
 * reader gets the buffer and a range, as the SSE engine gives it, with stale LFs around the range:
 * a search that ran past its end would find blank lines there.
 */
function feedAll(
  target: Pick<SseParser, 'feed' | 'lastEventId'> | SseTickReader,
  chunks: Uint8Array[],
  seen: Seen[],
  ranged = false,
) {
  const scratch = new Uint8Array(Math.max(1, ...chunks.map((chunk) => chunk.length)) + 8)
  for (const chunk of chunks) {
    scratch.fill(0x0a)
    scratch.set(chunk, 3)
    if (ranged) (target as SseTickReader).feed(scratch, 3, 3 + chunk.length)
    else target.feed(scratch.subarray(3, 3 + chunk.length))
    scratch.fill(0x0a)
    seen.push(['chunk', target.lastEventId])
  }
}

function runParser(chunks: Uint8Array[], options: RunOptions = {}): Run {
  const seen: Seen[] = []
  let events = 0
  const parser: SseParser = createSseParser({
    onEvent(event) {
      seen.push(seenEvent(event))
      if (options.peek) seen.push(['peek', parser.lastEventId])
      if (events++ === options.resetAtEvent) parser.reset()
    },
    onRetry: (retryMs) => seen.push(['retry', retryMs]),
    onComment: (comment) => seen.push(['comment', comment]),
    onError: (error) => seen.push(['error', error.code]),
    ...parserOptions(options),
  })
  feedAll(parser, chunks, seen)
  return { seen, fast: 0 }
}

function runReader(chunks: Uint8Array[], options: RunOptions = {}): Run {
  const seen: Seen[] = []
  const symbolCalls = new Map<string, number>()
  let events = 0
  const reader: SseTickReader = createSseTickReader({
    symbol(name) {
      symbolCalls.set(name, (symbolCalls.get(name) ?? 0) + 1)
      return { name }
    },
    onTick(symbol, q, scheduledUs, id, type) {
      seen.push(['tick', type, symbol.name, q, scheduledUs, String(id)])
      if (options.peek) seen.push(['peek', reader.lastEventId])
      if (events++ === options.resetAtEvent) reader.reset()
    },
    onEvent(event) {
      seen.push(seenEvent(event))
      if (options.peek) seen.push(['peek', reader.lastEventId])
      if (events++ === options.resetAtEvent) reader.reset()
    },
    onRetry: (retryMs) => seen.push(['retry', retryMs]),
    onComment: (comment) => seen.push(['comment', comment]),
    onError: (error) => seen.push(['error', error.code]),
    ...parserOptions(options),
  })
  feedAll(reader, chunks, seen, true)
  for (const [name, calls] of symbolCalls) {
    if (calls !== 1) throw new Error(`symbol(${name}) was called ${calls} times, expected once`)
  }
  return { seen, fast: reader.fastPathEvents }
}

function parserOptions(options: RunOptions): { maxLineBytes?: number; lastEventId?: string } {
  return {
    ...(options.maxLineBytes === undefined ? {} : { maxLineBytes: options.maxLineBytes }),
    ...(options.lastEventId === undefined ? {} : { lastEventId: options.lastEventId }),
  }
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

/** Few symbols, so the symbol table sees repeats; up to 5 letters, the longest the fast path packs. */
const symbol = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('A', 'AAPL', 'MSFT', 'BRKB', 'GOOGL', 'ZZZZZ', 'Z') },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Z]{1,5}$/) },
)

/** A tick as the market makes it, in JSON as the server writes it. */
const tickJson: fc.Arbitrary<{ kind: Tick['kind']; json: string }> = fc
  .record({
    kind: fc.constantFrom('quote', 'trade', 'status'),
    seq: fc.oneof(fc.nat({ max: 1000 }), fc.maxSafeNat()),
    scheduledUs: fc.oneof(fc.constant(1_732_400_000_000_000), fc.maxSafeNat(), fc.nat()),
    price: fc.nat({ max: 10_000_000 }),
    size: fc.nat({ max: 100_000 }),
    conditions: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }),
    status: fc.constantFrom<TradingStatus>('halted', 'trading', 'imbalance'),
    // Any text: quotes, backslashes and non-ASCII in the part of the data the fast path skips.
    reason: fc.string({ unit: 'grapheme', maxLength: 12 }),
    symbol,
  })
  .map((t) => {
    const base = { symbol: 0, seq: t.seq, simTimeUs: 0 }
    const tick: Tick =
      t.kind === 'quote'
        ? { ...base, kind: 'quote', bid: t.price, bidSize: t.size, ask: t.price + 100, askSize: 1 }
        : t.kind === 'trade'
          ? {
              ...base,
              kind: 'trade',
              price: t.price,
              size: t.size,
              conditions: t.conditions as TradeCondition[],
            }
          : { ...base, kind: 'status', status: t.status, reason: t.reason }
    return { kind: t.kind, json: encodeTickJson(tick, t.symbol, t.scheduledUs) }
  })

/** One of our events, byte for byte what `encodeSseEvent` writes. */
const tickEvent: fc.Arbitrary<string> = fc
  .tuple(fc.oneof(fc.nat({ max: 100_000 }), fc.maxSafeNat()), tickJson)
  .map(([id, { kind, json }]) => new TextDecoder().decode(encodeSseEvent(id, kind, json)))

/** Our event with an id the fast path must leave to the parser (leading zeros, 16+ digits), or empty. */
const oddIdEvent: fc.Arbitrary<string> = fc
  .tuple(fc.stringMatching(/^(0[0-9]{1,4}|[1-9][0-9]{15,19}|)$/), tickJson)
  .map(([id, { kind, json }]) => `id: ${id}\nevent: ${kind}\ndata: ${json}\n\n`)

/** Bytes that land on the fast path's edges when put anywhere in an event. */
const mutationText = fc.constantFrom(
  ' ',
  ':',
  '\r',
  '\n',
  '\r\n',
  '\n\n',
  '0',
  '9',
  'a',
  'A',
  'é',
  '"',
  ',',
  '{',
  '\0',
  '\ufeff',
  'x',
  // A CR ends a line: what follows it is a line of its own.
  '\rid: 9',
  '\revent: x',
  '\r: c',
  '\rretry: 1',
  '\r\n',
)

/** Our event with one edit: a character replaced, inserted or removed. */
const nearMiss: fc.Arbitrary<string> = fc
  .tuple(tickEvent, fc.nat(), fc.constantFrom('replace', 'insert', 'delete'), mutationText)
  .map(([event, at, edit, text]) => {
    const i = at % event.length
    if (edit === 'delete') return event.slice(0, i) + event.slice(i + 1)
    return event.slice(0, i) + text + event.slice(edit === 'replace' ? i + 1 : i)
  })

/** Our event with other line endings (which the fast path never takes). */
const otherEndings: fc.Arbitrary<string> = fc
  .tuple(tickEvent, fc.constantFrom('\r\n', '\r'))
  .map(([event, end]) => event.replaceAll('\n', end))

const snapshot: fc.Arbitrary<string> = fc
  .tuple(
    fc.nat({ max: 100_000 }),
    fc.boolean(),
    fc.array(fc.tuple(symbol, fc.nat()), { maxLength: 3 }),
  )
  .map(
    ([id, reset, quotes]) =>
      `id: ${id}\nevent: snapshot\ndata: ${JSON.stringify({ reset, quotes: quotes.map(([sym, q]) => ({ sym, q })) })}\n\n`,
  )

const other: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    new TextDecoder().decode(SSE_HEARTBEAT),
    new TextDecoder().decode(encodeSsePreamble(2000, 42)),
    ':hb\n',
    ': connected\n\n',
    'retry: 2000\n',
    'retry: 2000\n\n',
    '\n',
    '\r\n',
    'foo: bar\n',
    'id: 77\n',
    'id: 78\n\n',
    'event: quote\n',
    'data: x\n\n',
    'data: {"ts":5,"sym":"AAPL","q":3}\n',
    'id\n\n',
    '\ufeff',
  ),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
)

const piece: fc.Arbitrary<string> = fc.oneof(
  { weight: 12, arbitrary: tickEvent },
  { weight: 4, arbitrary: nearMiss },
  { weight: 1, arbitrary: oddIdEvent },
  { weight: 1, arbitrary: otherEndings },
  { weight: 1, arbitrary: snapshot },
  { weight: 3, arbitrary: other },
)

const stream: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.boolean(),
    fc.array(piece, { maxLength: 40 }),
    fc.option(fc.uint8Array({ maxLength: 6 })),
  )
  .map(([bom, pieces, stray]) => {
    const parts = pieces.map((text) => encoder.encode(text))
    if (stray !== null) parts.splice(parts.length >> 1, 0, stray)
    return concatBytes(bom ? [BOM, ...parts] : parts)
  })

/** Up to 24 cut points; sometimes none (one chunk) or every byte. */
const chunking = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.nat(), { maxLength: 24 }) },
  { weight: 1, arbitrary: fc.constant<number[]>([]) },
  { weight: 1, arbitrary: fc.constant<number[] | 'bytes'>('bytes') },
)

function chunksOf(bytes: Uint8Array, cuts: number[] | 'bytes'): Uint8Array[] {
  return splitAt(bytes, cuts === 'bytes' ? [...bytes.keys()] : cuts)
}

const runOptions: fc.Arbitrary<RunOptions> = fc.record(
  {
    maxLineBytes: fc.integer({ min: 1, max: 300 }),
    lastEventId: fc.constantFrom('', '5', 'abc'),
    peek: fc.boolean(),
    resetAtEvent: fc.nat({ max: 30 }),
  },
  { requiredKeys: [] },
)

// ---------------------------------------------------------------------------------------------

describe('SSE fast path + parser ≡ parser alone', () => {
  test('random streams at random chunk splits: same observations, same lastEventId after every chunk', () => {
    let fast = 0
    let parsed = 0
    fc.assert(
      fc.property(stream, chunking, (bytes, cuts) => {
        const chunks = chunksOf(bytes, cuts)
        const expected = runParser(chunks)
        const actual = runReader(chunks)
        expect(actual.seen).toEqual(expected.seen)
        const ticks = expected.seen.filter((seen) => seen[0] === 'tick').length
        if (cuts !== 'bytes') {
          fast += actual.fast
          parsed += ticks - actual.fast
        }
      }),
      fuzzRuns(1500),
    )
    // Both paths were exercised (a fast path that never runs would prove nothing). Byte-by-byte
    // feeding is left out: it splits every event, so all of them go to the parser.
    expect(fast).toBeGreaterThan(1000)
    expect(parsed).toBeGreaterThan(1000)
  })

  test('with a small maxLineBytes, an initial id, lastEventId read inside callbacks and reset() from one', () => {
    fc.assert(
      fc.property(stream, chunking, runOptions, (bytes, cuts, options) => {
        const chunks = chunksOf(bytes, cuts)
        expect(runReader(chunks, options).seen).toEqual(runParser(chunks, options).seen)
      }),
      fuzzRuns(1500),
    )
  })

  test('a framed stream of our events goes through the fast path whole, wherever the chunks end', () => {
    fc.assert(
      fc.property(
        fc.array(tickEvent, { minLength: 1, maxLength: 60 }),
        chunking,
        (events, cuts) => {
          const bytes = concatBytes([
            encodeSsePreamble(2000, 7),
            ...events.map((event) => encoder.encode(event)),
            SSE_HEARTBEAT,
          ])
          const chunks = chunksOf(bytes, cuts)
          const expected = runParser(chunks)
          const actual = runReader(chunks)
          expect(actual.seen).toEqual(expected.seen)
          // A chunk boundary inside an event sends that event (only) through the parser.
          const bounds: [number, number][] = []
          let offset = encodeSsePreamble(2000, 7).length
          for (const event of events) {
            const length = encoder.encode(event).length
            bounds.push([offset, offset + length])
            offset += length
          }
          const points: number[] = []
          let at = 0
          for (const chunk of chunks.slice(0, -1)) {
            at += chunk.length
            points.push(at)
          }
          const split = bounds.filter(([from, to]) => points.some((p) => p > from && p < to)).length
          expect(actual.fast).toBe(events.length - split)
        },
      ),
      fuzzRuns(300),
    )
  })
})

describe('createSseTickReader', () => {
  const frame = concatBytes([
    encodeSsePreamble(2000, 0),
    encodeSseEvent(1, 'quote', '{"ts":100,"sym":"AAPL","q":1,"bp":1,"bs":1,"ap":1,"as":1}'),
    encodeSseEvent(2, 'trade', '{"ts":200,"sym":"MSFT","q":1,"p":1,"s":1,"c":[]}'),
    encodeSseEvent(3, 'status', '{"ts":300,"sym":"AAPL","q":2,"status":"halted","reason":"luld"}'),
  ])

  test('reads our events without the parser, one symbol handle per symbol, and keeps the id', () => {
    const ticks: unknown[][] = []
    const handles = new Map<string, object>()
    const reader = createSseTickReader({
      symbol(name) {
        const handle = { name }
        handles.set(name, handle)
        return handle
      },
      onTick: (symbol, q, scheduledUs, id, type) => ticks.push([symbol, q, scheduledUs, id, type]),
      onEvent: () => {
        throw new Error('no event should reach the parser')
      },
    })
    reader.feed(frame)
    expect(ticks).toEqual([
      [handles.get('AAPL'), 1, 100, 1, 'quote'],
      [handles.get('MSFT'), 1, 200, 2, 'trade'],
      [handles.get('AAPL'), 2, 300, 3, 'status'],
    ])
    expect(ticks[0]![0]).toBe(ticks[2]![0])
    expect(reader.fastPathEvents).toBe(3)
    expect(reader.lastEventId).toBe('3')
  })

  test('reset() from a tick keeps that tick’s id, drops the rest of the chunk, and restarts the stream', () => {
    const ids: number[] = []
    const reader: SseTickReader = createSseTickReader({
      symbol: (name) => name,
      onTick(_symbol, _q, _ts, id) {
        ids.push(id)
        if (id === 2) reader.reset()
      },
      onEvent: () => {},
    })
    reader.feed(frame)
    expect(ids).toEqual([1, 2])
    expect(reader.lastEventId).toBe('2')
    // The new connection's stream starts with its preamble, through the parser, then fast again.
    reader.feed(frame)
    expect(ids).toEqual([1, 2, 1, 2])
  })

  test('rejects bad options, listing each problem', () => {
    expect(() =>
      createSseTickReader({ symbol: 1, onTick: null, onEvent: () => {} } as never),
    ).toThrow(/symbol.*must be a function[\s\S]*onTick.*must be a function/)
  })
})

describe('BlockAwareSseParser.commitLastEventId', () => {
  test('at a block boundary it sets lastEventId as a dispatched block would; inside a block it throws', () => {
    const events: SseEvent[] = []
    const parser = createBlockAwareSseParser({ onEvent: (event) => events.push(event) })
    expect(parser.atBlockBoundary()).toBe(false) // the stream start (a BOM may follow)
    parser.feed(encoder.encode(':hi\n\n'))
    expect(parser.atBlockBoundary()).toBe(true)
    parser.commitLastEventId('41')
    expect(parser.lastEventId).toBe('41')
    parser.feed(encoder.encode('data: a\n'))
    expect(parser.atBlockBoundary()).toBe(false)
    expect(() => parser.commitLastEventId('42')).toThrow(
      expect.objectContaining({ code: 'TS_ERR_INTERNAL' }),
    )
    parser.feed(encoder.encode('\n'))
    expect(events).toEqual([{ type: 'message', data: 'a', lastEventId: '41' }])
    parser.feed(encoder.encode('id: 9'))
    expect(parser.atBlockBoundary()).toBe(false)
  })
})
