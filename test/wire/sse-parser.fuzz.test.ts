/**
 * Property-based tests of the SSE parser with fast-check (issue 5, "Hostile input"): arbitrary
 * bytes at arbitrary chunk splits never throw and always give what a line-level model of the
 * WHATWG rules gives for the whole stream; over-long lines are reported and skipped; valid event
 * streams round-trip. fast-check prints the seed and the shrunk counterexample on failure; rerun
 * one with `fc.assert(..., { seed, path })`.
 *
 * The oracle (`interpret`) restates HTML §9.2.6 on decoded text, independently of the parser's
 * byte-level machinery: strip one leading BOM, decode as UTF-8 with replacement, cut lines at
 * CRLF, LF or a lone CR, drop the unterminated tail, apply the field rules. The parser decodes per
 * run of whole lines; the model decodes the whole stream at once, so any disagreement on
 * invalid or split UTF-8 shows up here too.
 */

import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { ERROR_CODES, type TickstormError } from '../../src/errors.js'
import { createSseParser } from '../../src/wire/sse-parser.js'
import { concatBytes, fuzzRuns, splitAt } from '../helpers/fuzz.js'

/** One callback, in the order the parser made it. */
type Report =
  | readonly ['event', string, string, string]
  | readonly ['retry', number]
  | readonly ['comment', string]

interface Outcome {
  readonly reports: Report[]
  readonly errors: string[]
  /** `parser.lastEventId` after the last chunk. */
  readonly lastEventId: string
}

const encoder = new TextEncoder()
/** What the spec's "UTF-8 decode" does, minus the BOM, which `interpret` strips from the bytes. */
const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })
const BOM = Uint8Array.of(0xef, 0xbb, 0xbf)

function parse(
  chunks: readonly Uint8Array[],
  options: { maxLineBytes?: number; lastEventId?: string } = {},
): Outcome {
  const reports: Report[] = []
  const errors: string[] = []
  const parser = createSseParser({
    onEvent: (event) => reports.push(['event', event.type, event.data, event.lastEventId]),
    onRetry: (retryMs) => reports.push(['retry', retryMs]),
    onComment: (comment) => reports.push(['comment', comment]),
    onError: (error: TickstormError) => errors.push(error.code),
    ...options,
  })
  for (const chunk of chunks) parser.feed(chunk)
  return { reports, errors, lastEventId: parser.lastEventId }
}

/** [spec] "If value starts with a U+0020 SPACE character, remove it from value." */
const stripSpace = (value: string): string => (value.startsWith(' ') ? value.slice(1) : value)

/**
 * HTML §9.2.6 "Interpreting an event stream", on whole lines. Returns the reports a conforming
 * parser makes and the last event ID string it ends with.
 */
function interpretLines(lines: readonly string[], initialLastEventId = ''): Outcome {
  const reports: Report[] = []
  const data: string[] = []
  let eventType = ''
  let idBuffer = initialLastEventId
  let lastEventId = initialLastEventId
  for (const line of lines) {
    if (line === '') {
      lastEventId = idBuffer
      if (data.length > 0) {
        reports.push(['event', eventType === '' ? 'message' : eventType, data.join('\n'), idBuffer])
      }
      data.length = 0
      eventType = ''
      continue
    }
    if (line.startsWith(':')) {
      reports.push(['comment', stripSpace(line.slice(1))])
      continue
    }
    const colon = line.indexOf(':')
    const name = colon === -1 ? line : line.slice(0, colon)
    const value = colon === -1 ? '' : stripSpace(line.slice(colon + 1))
    if (name === 'data') data.push(value)
    else if (name === 'event') eventType = value
    else if (name === 'id') {
      if (!value.includes('\0')) idBuffer = value
    } else if (name === 'retry') {
      if (/^[0-9]+$/.test(value) && Number(value) <= Number.MAX_SAFE_INTEGER) {
        reports.push(['retry', Number(value)])
      }
    }
  }
  return { reports, errors: [], lastEventId }
}

/** The model for a whole byte stream: BOM, decode, lines (the unterminated tail is dropped). */
function interpret(bytes: Uint8Array, initialLastEventId = ''): Outcome {
  const body =
    bytes[0] === BOM[0] && bytes[1] === BOM[1] && bytes[2] === BOM[2] ? bytes.subarray(3) : bytes
  const lines = decoder.decode(body).split(/\r\n|\r|\n/)
  lines.pop() // after the last terminator: an incomplete line, discarded at end of stream
  return interpretLines(lines, initialLastEventId)
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

/** Well-formed UTF-16 (a lone surrogate cannot be written as UTF-8, so it would not round-trip). */
const wellFormed = (text: string): string => decoder.decode(encoder.encode(text))

/** Any code points, CR and LF excluded: the text of one line. */
const lineText = (maxLength: number) =>
  fc.string({ unit: 'binary', maxLength }).map((text) => wellFormed(text).replace(/[\r\n]/g, ''))

/** Fragments that exercise the parser's edges, as bytes. */
const hostileFragment: fc.Arbitrary<Uint8Array> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .constantFrom(
        'data',
        'data:',
        'data: ',
        'event:',
        'event: ',
        'id:',
        'id: ',
        'id',
        'retry:',
        'retry: ',
        'retry',
        ':',
        ': ',
        ' ',
        'Data:',
        'dat',
        '\n',
        '\r',
        '\r\n',
        '\n\n',
        '\r\r',
        '\0',
        '\ufeff',
        'é',
        '€',
        '😀',
        '123',
        '9007199254740993',
      )
      .map((text) => encoder.encode(text)),
  },
  {
    weight: 2,
    // Broken and partial UTF-8, stray BOM bytes, 0xFF.
    arbitrary: fc
      .constantFrom(
        [0xff],
        [0xfe, 0xff],
        [0xef],
        [0xef, 0xbb],
        [0xef, 0xbb, 0xbf],
        [0xc3],
        [0xe2, 0x82],
        [0xf0, 0x9f, 0x98],
        [0xed, 0xa0, 0x80],
        [0x80],
        [0xc0, 0xaf],
      )
      .map((bytes) => Uint8Array.from(bytes)),
  },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 32 }) },
  { weight: 2, arbitrary: lineText(24).map((text) => encoder.encode(text)) },
  {
    weight: 1,
    // A long line: thousands of bytes with no terminator.
    arbitrary: fc
      .tuple(fc.constantFrom('a', 'é', 'data: x', '😀'), fc.integer({ min: 100, max: 5000 }))
      .map(([unit, count]) => encoder.encode(unit.repeat(count))),
  },
)

const hostileStream = fc
  .tuple(fc.boolean(), fc.array(hostileFragment, { maxLength: 40 }))
  .map(([bom, parts]) => concatBytes(bom ? [BOM, ...parts] : parts))

/** Up to 24 cut points anywhere in the stream (reduced modulo its length + 1). */
const cuts = fc.array(fc.nat(), { maxLength: 24 })

/** Line terminators, then the one ambiguity fixed: a CR then a blank line ending in LF is CRLF. */
const terminator = fc.constantFrom('\n', '\r', '\r\n')
function unambiguous(lines: readonly string[], terminators: string[]): string[] {
  for (let i = 0; i + 1 < lines.length; i++) {
    if (terminators[i] === '\r' && lines[i + 1] === '' && terminators[i + 1]!.startsWith('\n')) {
      terminators[i] = '\n'
    }
  }
  return terminators
}

interface Block {
  readonly comments: readonly string[]
  readonly type: string | null
  readonly data: readonly string[]
  readonly id: string | null
  readonly retry: number | null
}

/** A block as a server would write it: at least zero data lines, every field well formed. */
const block: fc.Arbitrary<Block> = fc.record({
  comments: fc.array(lineText(12), { maxLength: 2 }),
  type: fc.option(lineText(10)),
  data: fc.array(lineText(30), { maxLength: 4 }),
  id: fc.option(lineText(10).map((id) => id.replaceAll('\0', ''))),
  retry: fc.option(fc.nat()),
})

// ---------------------------------------------------------------------------------------------

describe('createSseParser under fast-check', () => {
  test('arbitrary bytes at arbitrary splits: never throws, same as the whole stream, same as the spec model', () => {
    fc.assert(
      fc.property(hostileStream, cuts, lineText(8), (bytes, at, initialId) => {
        const expected = interpret(bytes, initialId)
        const whole = parse([bytes], { lastEventId: initialId })
        const split = parse(splitAt(bytes, at), { lastEventId: initialId })
        const byteByByte = parse(splitAt(bytes, [...bytes.keys()]), { lastEventId: initialId })
        expect(whole).toEqual(expected)
        expect(split).toEqual(whole)
        expect(byteByByte).toEqual(whole)
      }),
      fuzzRuns(400),
    )
  })

  test('plain random bytes (no bias) never throw and agree with the model', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), cuts, (bytes, at) => {
        const expected = interpret(bytes)
        expect(parse([bytes])).toEqual(expected)
        expect(parse(splitAt(bytes, at))).toEqual(expected)
      }),
      fuzzRuns(300),
    )
  })

  test('lines over maxLineBytes are reported once each as TS_ERR_SSE_LINE_TOO_LONG and skipped; parsing goes on', () => {
    const lines = fc
      .array(
        fc.oneof(
          lineText(6),
          fc.constantFrom('', 'data: ok', 'event: e', 'id: 7', 'retry: 5', ': hb'),
          // Around the bound, in bytes: ASCII, 2-byte and 4-byte characters.
          fc
            .tuple(fc.constantFrom('d', 'é', '😀'), fc.integer({ min: 1, max: 40 }))
            .map(([unit, count]) => `data: ${unit.repeat(count)}`),
        ),
        { maxLength: 30 },
      )
      .chain((list) =>
        fc.record({
          lines: fc.constant(list),
          terminators: fc.array(terminator, { minLength: list.length, maxLength: list.length }),
        }),
      )
    fc.assert(
      fc.property(
        lines,
        fc.integer({ min: 1, max: 48 }),
        fc.boolean(),
        cuts,
        (stream, maxLineBytes, bom, at) => {
          const terminators = unambiguous(stream.lines, [...stream.terminators])
          const text = stream.lines.map((line, i) => line + terminators[i]).join('')
          const bytes = concatBytes(bom ? [BOM, encoder.encode(text)] : [encoder.encode(text)])
          // Without a BOM prefix, a first line starting with U+FEFF loses it as the BOM.
          const effective = [...stream.lines]
          if (!bom && effective[0]?.startsWith('\ufeff')) effective[0] = effective[0].slice(1)
          const kept = effective.filter((line) => encoder.encode(line).length <= maxLineBytes)
          const tooLong = effective.length - kept.length
          const expected = {
            ...interpretLines(kept),
            errors: Array<string>(tooLong).fill(ERROR_CODES.SSE_LINE_TOO_LONG),
          }
          expect(parse([bytes], { maxLineBytes })).toEqual(expected)
          expect(parse(splitAt(bytes, at), { maxLineBytes })).toEqual(expected)
        },
      ),
      fuzzRuns(400),
    )
  })

  test('an unterminated line is reported as soon as it passes the bound, once, and then ignored', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 8, max: 64 }),
        fc.integer({ min: 1, max: 4096 }),
        cuts,
        (maxLineBytes, extra, at) => {
          // "data: a" is 7 bytes, within every bound here; the tail never gets a terminator.
          const bytes = encoder.encode(`data: a\n\n${'x'.repeat(maxLineBytes + extra)}`)
          const expected = {
            ...interpret(encoder.encode('data: a\n\n')),
            errors: [ERROR_CODES.SSE_LINE_TOO_LONG],
          }
          expect(parse([bytes], { maxLineBytes })).toEqual(expected)
          expect(parse(splitAt(bytes, at), { maxLineBytes })).toEqual(expected)
        },
      ),
      fuzzRuns(200),
    )
  })

  test('valid event streams round-trip: the events out are the events in, at any split', () => {
    fc.assert(
      fc.property(
        fc.array(block, { maxLength: 12 }),
        fc.boolean(),
        fc.infiniteStream(terminator),
        cuts,
        (blocks, bom, terminators, at) => {
          const lines: string[] = []
          const expected: Report[] = []
          let lastEventId = ''
          for (const b of blocks) {
            for (const comment of b.comments) {
              lines.push(`: ${comment}`)
              expected.push(['comment', comment])
            }
            if (b.type !== null) lines.push(`event: ${b.type}`)
            for (const value of b.data) lines.push(`data: ${value}`)
            if (b.id !== null) {
              lines.push(`id: ${b.id}`)
              lastEventId = b.id
            }
            if (b.retry !== null) {
              lines.push(`retry: ${b.retry}`)
              expected.push(['retry', b.retry])
            }
            lines.push('')
            if (b.data.length > 0) {
              const type = b.type === null || b.type === '' ? 'message' : b.type
              expected.push(['event', type, b.data.join('\n'), lastEventId])
            }
          }
          const ends = unambiguous(
            lines,
            lines.map(() => terminators.next().value as string),
          )
          const text = lines.map((line, i) => line + ends[i]).join('')
          const bytes = concatBytes(bom ? [BOM, encoder.encode(text)] : [encoder.encode(text)])
          const outcome = { reports: expected, errors: [], lastEventId }
          expect(parse([bytes])).toEqual(outcome)
          expect(parse(splitAt(bytes, at))).toEqual(outcome)
        },
      ),
      fuzzRuns(300),
    )
  })

  test('reset() after arbitrary garbage leaves only the committed id: the next stream parses as if fresh', () => {
    fc.assert(
      fc.property(hostileStream, hostileStream, cuts, (garbage, next, at) => {
        const reports: Report[] = []
        const parser = createSseParser({
          onEvent: (event) => reports.push(['event', event.type, event.data, event.lastEventId]),
          onRetry: (retryMs) => reports.push(['retry', retryMs]),
          onComment: (comment) => reports.push(['comment', comment]),
        })
        for (const chunk of splitAt(garbage, at)) parser.feed(chunk)
        const committed = parser.lastEventId
        expect(committed).toBe(interpret(garbage).lastEventId)
        parser.reset()
        reports.length = 0
        for (const chunk of splitAt(next, at)) parser.feed(chunk)
        const expected = interpret(next, committed)
        expect({ reports, lastEventId: parser.lastEventId }).toEqual({
          reports: expected.reports,
          lastEventId: expected.lastEventId,
        })
      }),
      fuzzRuns(200),
    )
  })

  test('a callback that resets mid-chunk stops that chunk without throwing', () => {
    fc.assert(
      fc.property(hostileStream, cuts, fc.nat({ max: 5 }), (bytes, at, resetAfter) => {
        let calls = 0
        const parser = createSseParser({
          onEvent: () => {
            if (calls++ === resetAfter) parser.reset()
          },
          onComment: () => {
            if (calls++ === resetAfter) parser.reset()
          },
        })
        for (const chunk of splitAt(bytes, at)) parser.feed(chunk)
        expect(typeof parser.lastEventId).toBe('string')
      }),
      fuzzRuns(200),
    )
  })

  test('no hang: a long line fed in small pieces costs linear time', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 64 * 1024, max: 512 * 1024 }),
        fc.integer({ min: 1, max: 64 }),
        (length, pieceBytes) => {
          const bytes = encoder.encode(`data: ${'z'.repeat(length)}\n\n`)
          const events: string[] = []
          const parser = createSseParser({ onEvent: (event) => events.push(event.data) })
          const started = performance.now()
          for (let i = 0; i < bytes.length; i += pieceBytes) {
            parser.feed(bytes.subarray(i, i + pieceBytes))
          }
          expect(events).toEqual(['z'.repeat(length)])
          // Linear work is ~10 ms here even at one byte per chunk; quadratic would be minutes.
          expect(performance.now() - started).toBeLessThan(2000)
        },
      ),
      fuzzRuns(10),
    )
  })
})
