import { describe, expect, expectTypeOf, test } from 'vitest'
import { TickstormError } from '../../src/errors.js'
import {
  createSseParser,
  type SseEvent,
  type SseParser,
  type SseParserError,
  type SseParserOptions,
} from '../../src/wire/sse-parser.js'
import {
  ESP_CASES,
  type Expected,
  hugeMessageCase,
  msg,
  type ParseCase,
  SPEC_CASES,
  typed,
  WPT_CASES,
} from './fixtures/sse-parse-cases.js'
import { chunkingsOf, toBytes } from './fixtures/sse-streams.js'

/** Everything a parser reported, in a form `toStrictEqual` can compare. */
interface Outcome {
  events: SseEvent[]
  retries: number[]
  comments: string[]
  errors: string[]
  lastEventId: string
}

function parse(
  connections: readonly (readonly Uint8Array[])[],
  options: ParseCase['options'] = {},
): Outcome {
  const outcome: Outcome = { events: [], retries: [], comments: [], errors: [], lastEventId: '' }
  const parser = createSseParser({
    ...options,
    onEvent: (event) => outcome.events.push(event),
    onRetry: (retryMs) => outcome.retries.push(retryMs),
    onComment: (comment) => outcome.comments.push(comment),
    onError: (error) => outcome.errors.push(error.code),
  })
  connections.forEach((chunks, index) => {
    if (index > 0) parser.reset()
    for (const chunk of chunks) parser.feed(chunk)
  })
  outcome.lastEventId = parser.lastEventId
  return outcome
}

function expectedOutcome(expected: Expected): Outcome {
  return {
    events: [...expected.events],
    retries: [...(expected.retries ?? [])],
    comments: [...(expected.comments ?? [])],
    errors: Array.from(
      { length: expected.lineTooLongErrors ?? 0 },
      () => 'TS_ERR_SSE_LINE_TOO_LONG',
    ),
    lastEventId: expected.lastEventId ?? '',
  }
}

/** Runs a case whole, byte by byte and at seeded random splits: every run must give `expected`. */
function checkCase(parseCase: ParseCase): void {
  const expected = expectedOutcome(parseCase.expected)
  const chunkings = chunkingsOf(
    parseCase.name,
    parseCase.connections,
    parseCase.explicitChunks ?? false,
  )
  for (const chunking of chunkings) {
    expect(parse(chunking.connections, parseCase.options), chunking.label).toStrictEqual(expected)
  }
}

describe('web-platform-tests eventsource/format-*', () => {
  for (const parseCase of WPT_CASES) test(parseCase.name, () => checkCase(parseCase))
})

describe('eventsource-parser parse cases', () => {
  for (const parseCase of ESP_CASES) test(parseCase.name, () => checkCase(parseCase))
  const huge = hugeMessageCase()
  test(huge.name, () => checkCase(huge))
})

describe('spec-derived cases', () => {
  for (const parseCase of SPEC_CASES) test(parseCase.name, () => checkCase(parseCase))
})

describe('createSseParser API', () => {
  const text = (value: string): Uint8Array => toBytes(value)

  test('lastEventId is committed at the block end only', () => {
    const parser = createSseParser({ onEvent: () => {} })
    expect(parser.lastEventId).toBe('')
    parser.feed(text('id: 42\n'))
    expect(parser.lastEventId).toBe('')
    parser.feed(text('\n'))
    expect(parser.lastEventId).toBe('42')
    parser.feed(text('id: bad\0id\n\n'))
    expect(parser.lastEventId).toBe('42')
    parser.feed(text('id: 43\ndata: x\n'))
    expect(parser.lastEventId).toBe('42')
    parser.reset()
    expect(parser.lastEventId).toBe('42')
    parser.feed(text('id:\n\n'))
    expect(parser.lastEventId).toBe('')
  })

  test('the lastEventId option is what the getter reports before any block ends', () => {
    const parser = createSseParser({ onEvent: () => {}, lastEventId: '1201' })
    expect(parser.lastEventId).toBe('1201')
    parser.feed(text('data: partial'))
    parser.reset()
    expect(parser.lastEventId).toBe('1201')
  })

  test('reset() inside onEvent discards the rest of the chunk and keeps the committed id', () => {
    const events: SseEvent[] = []
    const parser = createSseParser({
      onEvent: (event) => {
        events.push(event)
        if (event.data === 'close') parser.reset()
      },
    })
    parser.feed(text('id: 1\ndata: close\n\nid: 2\ndata: after\n\n'))
    expect(events).toStrictEqual([msg('close', '1')])
    expect(parser.lastEventId).toBe('1')
    parser.feed(text('data: next\n\n'))
    expect(events).toStrictEqual([msg('close', '1'), msg('next', '1')])
  })

  test('reset() inside onComment or onRetry also stops the current chunk', () => {
    const seen: string[] = []
    const parser = createSseParser({
      onEvent: (event) => seen.push(event.data),
      onComment: () => parser.reset(),
      onRetry: () => parser.reset(),
    })
    parser.feed(text('data: a\n\ndata: b\n: bye\ndata: c\n\n'))
    parser.feed(text('data: d\n\nretry: 5\ndata: e\n\n'))
    parser.feed(text('data: f\n\n'))
    expect(seen).toStrictEqual(['a', 'd', 'f'])
  })

  test('a partial line is copied: the caller may reuse the chunk’s memory (uWS, Buffer pools)', () => {
    const events: SseEvent[] = []
    const parser = createSseParser({ onEvent: (event) => events.push(event) })
    const reused = Buffer.alloc(8)
    for (const piece of ['id: 7\nda', 'ta: hel', 'lo\n\n']) {
      reused.fill(0x21) // garbage over the previous bytes
      const written = reused.write(piece)
      parser.feed(reused.subarray(0, written))
    }
    expect(events).toStrictEqual([msg('hello', '7')])
  })

  test('accepts Node Buffers and Uint8Array views with an offset', () => {
    const events: SseEvent[] = []
    const parser = createSseParser({ onEvent: (event) => events.push(event) })
    const backing = toBytes('xxxxdata: a\n\ndata: b\n\nxxxx')
    parser.feed(backing.subarray(4, 13))
    parser.feed(Buffer.from(backing.buffer, backing.byteOffset + 13, 9))
    expect(events).toStrictEqual([msg('a'), msg('b')])
  })

  test('onEvent sees a clean parser: buffers are cleared before it runs', () => {
    const parser = createSseParser({
      onEvent: (event) => {
        expect(event).toStrictEqual(typed('quote', 'x', '1'))
        expect(parser.lastEventId).toBe('1')
      },
    })
    parser.feed(text('id: 1\nevent: quote\ndata: x\n\n'))
  })

  test('callbacks other than onEvent are optional; an over-long line without onError is silent', () => {
    const events: SseEvent[] = []
    const parser = createSseParser({ onEvent: (event) => events.push(event), maxLineBytes: 8 })
    parser.feed(text(': comment\nretry: 10\ndata: 0123456789\ndata: ok\n\n'))
    expect(events).toStrictEqual([msg('ok')])
  })

  test('the line-too-long error is data with a stable code and the bound', () => {
    const errors: SseParserError[] = []
    const parser = createSseParser({
      onEvent: () => {},
      onError: (error) => errors.push(error),
      maxLineBytes: 4,
    })
    parser.feed(text('data: 12345\n'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(TickstormError)
    expect({ ...errors[0]!, message: errors[0]!.message }).toStrictEqual({
      name: 'TickstormError',
      code: 'TS_ERR_SSE_LINE_TOO_LONG',
      message: 'an event-stream line is longer than maxLineBytes (4); it was dropped',
      details: { maxLineBytes: 4 },
    })
  })

  test('the default bound is 1 MiB', () => {
    const events: SseEvent[] = []
    let errors = 0
    const parser = createSseParser({
      onEvent: (event) => events.push(event),
      onError: () => errors++,
    })
    const fits = 'x'.repeat(1024 * 1024 - 'data: '.length)
    parser.feed(text(`data: ${fits}\n\ndata: ${fits}x\n\ndata: ok\n\n`))
    expect(events.map((event) => event.data.length)).toStrictEqual([fits.length, 2])
    expect(errors).toBe(1)
  })

  test('invalid options throw TS_ERR_INVALID_OPTIONS listing every problem', () => {
    const bad = {
      onEvent: 'nope',
      onRetry: 5,
      maxLineBytes: 0,
      lastEventId: 7,
      onEvnet: () => {},
    } as unknown as SseParserOptions
    let thrown: unknown
    try {
      createSseParser(bad)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(TickstormError)
    const error = thrown as TickstormError
    expect(error.code).toBe('TS_ERR_INVALID_OPTIONS')
    expect(error.details).toStrictEqual({
      problems: [
        '`onEvent` must be a function, got "nope"',
        '`onRetry` must be a function, got 5',
        '`maxLineBytes` must be an integer from 1 to 9007199254740991, got 0',
        '`lastEventId` must be a string, got 7',
        '`onEvnet` is not a known option, got "onEvnet"',
      ],
    })
  })

  test('maxLineBytes must be an integer', () => {
    expect(() => createSseParser({ onEvent: () => {}, maxLineBytes: 1.5 })).toThrow(/maxLineBytes/)
  })
})

describe('the public parser', () => {
  test('is feed, reset and lastEventId; the harness fast path hooks stay internal', async () => {
    expectTypeOf<keyof SseParser>().toEqualTypeOf<'feed' | 'reset' | 'lastEventId'>()
    const api = await import('../../src/index.js')
    expect(api.createSseParser).toBe(createSseParser)
    expect(Object.keys(api)).not.toContain('createBlockAwareSseParser')
  })
})
