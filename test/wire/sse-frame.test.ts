import { createParser } from 'eventsource-parser'
import { describe, expect, test } from 'vitest'
import {
  PRICE_SCALE,
  type QuoteTick,
  type StatusTick,
  type TradeTick,
} from '../../src/market/types.js'
import {
  encodeSseEvent,
  encodeSsePreamble,
  encodeSseRetry,
  SSE_HEARTBEAT,
} from '../../src/wire/sse-frame.js'
import { createSseParser, type SseEvent } from '../../src/wire/sse-parser.js'
import { encodeTickJson, formatPrice } from '../../src/wire/tick-json.js'

const quote: QuoteTick = {
  kind: 'quote',
  symbol: 0,
  seq: 88,
  simTimeUs: 1,
  bid: 1_891_200,
  bidSize: 300,
  ask: 1_891_300,
  askSize: 500,
}
const trade: TradeTick = {
  kind: 'trade',
  symbol: 0,
  seq: 89,
  simTimeUs: 2,
  price: 1_891_250,
  size: 37,
  conditions: [1, 5],
}
const status: StatusTick = {
  kind: 'status',
  symbol: 0,
  seq: 90,
  simTimeUs: 3,
  status: 'halted',
  reason: 'luld',
}

describe('tick JSON', () => {
  test('prices are exact shortest decimals of integer units', () => {
    expect(formatPrice(1_891_200)).toBe('189.12')
    expect(formatPrice(1_891_250)).toBe('189.125')
    expect(formatPrice(100)).toBe('0.01')
    expect(formatPrice(1)).toBe('0.0001')
    expect(formatPrice(5 * PRICE_SCALE)).toBe('5')
    expect(formatPrice(999_999_999)).toBe('99999.9999')
    expect(formatPrice(0)).toBe('0')
  })

  test('quote, trade and status payloads are valid JSON with ts first', () => {
    const ts = 1_732_400_000_123_456
    expect(JSON.parse(encodeTickJson(quote, 'AAPL', ts))).toEqual({
      ts,
      sym: 'AAPL',
      q: 88,
      bp: 189.12,
      bs: 300,
      ap: 189.13,
      as: 500,
    })
    expect(JSON.parse(encodeTickJson(trade, 'AAPL', ts))).toEqual({
      ts,
      sym: 'AAPL',
      q: 89,
      p: 189.125,
      s: 37,
      c: [1, 5],
    })
    expect(JSON.parse(encodeTickJson(status, 'AAPL', ts))).toEqual({
      ts,
      sym: 'AAPL',
      q: 90,
      status: 'halted',
      reason: 'luld',
    })
    expect(encodeTickJson(quote, 'AAPL', ts).startsWith(`{"ts":${ts},`)).toBe(true)
  })
})

describe('SSE frames', () => {
  test('an event is id, event, one data line and a blank line, LF only', () => {
    const bytes = encodeSseEvent(42, 'quote', '{"a":1}')
    expect(new TextDecoder().decode(bytes)).toBe('id: 42\nevent: quote\ndata: {"a":1}\n\n')
    expect(new TextDecoder().decode(SSE_HEARTBEAT)).toBe(':hb\n\n')
    expect(new TextDecoder().decode(encodeSseRetry(2500))).toBe('retry: 2500\n\n')
    expect(new TextDecoder().decode(encodeSseRetry(-5))).toBe('retry: 0\n\n')
    expect(new TextDecoder().decode(encodeSseRetry(1e12))).toBe('retry: 2147483647\n\n')
  })

  test('a stream of our frames round-trips through our parser and eventsource-parser at random splits', () => {
    const parts: Uint8Array[] = [encodeSsePreamble(2000, 0)]
    const expected: SseEvent[] = []
    for (let id = 1; id <= 300; id++) {
      const tick = id % 3 === 0 ? trade : id % 7 === 0 ? status : quote
      const json = encodeTickJson({ ...tick, seq: id }, 'MSFT', 1_700_000_000_000_000 + id)
      parts.push(encodeSseEvent(id, tick.kind, json))
      if (id % 50 === 0) parts.push(SSE_HEARTBEAT)
      expected.push({ type: tick.kind, data: json, lastEventId: String(id) })
    }
    const stream = Buffer.concat(parts)
    let state = 12345
    const random = () => {
      state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0
      return state / 2 ** 32
    }
    for (let round = 0; round < 5; round++) {
      const ours: SseEvent[] = []
      const retries: number[] = []
      const parser = createSseParser({
        onEvent: (event) => ours.push(event),
        onRetry: (ms) => retries.push(ms),
      })
      const theirs: SseEvent[] = []
      const reference = createParser({
        onEvent: (event) =>
          theirs.push({
            type: event.event ?? 'message',
            data: event.data,
            lastEventId: event.id ?? '',
          }),
      })
      const decoder = new TextDecoder()
      for (let offset = 0; offset < stream.length; ) {
        const size = 1 + Math.floor(random() * 64)
        const chunk = stream.subarray(offset, offset + size)
        parser.feed(chunk)
        reference.feed(decoder.decode(chunk, { stream: true }))
        offset += size
      }
      expect(ours).toEqual(expected)
      expect(theirs).toEqual(expected)
      expect(retries).toEqual([2000])
    }
  })
})
