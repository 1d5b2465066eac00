import { describe, expect, test } from 'vitest'
import { createEventReader } from '../../src/harness/event-fields.js'
import type { TickFields } from '../../src/harness/event-observer.js'
import { TICKSTORM_EVENT_FIELDS } from '../../src/harness/targets/wire-spec.js'

/**
 * Reading an event's time, sequence and key where a target's `event` fields say: tickstorm's own
 * payload, other servers' paths and time units (every unit read as epoch µs), and the payloads
 * that must be unreadable (no sequence means a gap cannot be told from a duplicate).
 */

const fresh = (): TickFields => ({ ts: -1, sym: 'unset', q: -1 })

function read(fields: Parameters<typeof createEventReader>[0], data: string): TickFields | null {
  const out = fresh()
  return createEventReader(fields).text(data, out) ? out : null
}

describe('createEventReader', () => {
  test("tickstorm's fields read tickstorm's tick payload as it is (µs, sym, q)", () => {
    const data =
      '{"ts":1765000000123456,"sym":"AAPL","q":42,"bid":189.12,"ask":189.13,"bs":100,"as":200}'
    expect(read(TICKSTORM_EVENT_FIELDS, data)).toEqual({
      ts: 1_765_000_000_123_456,
      sym: 'AAPL',
      q: 42,
    })
    // The same payload from an already parsed array element (long-poll and WebSocket events).
    const out = fresh()
    expect(createEventReader(TICKSTORM_EVENT_FIELDS).value(JSON.parse(data), out)).toBe(true)
    expect(out).toEqual({ ts: 1_765_000_000_123_456, sym: 'AAPL', q: 42 })
  })

  test.each([
    ['ns', '1765000000123456789', 1_765_000_000_123_457],
    ['us', '1765000000123456', 1_765_000_000_123_456],
    ['ms', '1765000000123', 1_765_000_000_123_000],
    ['s', '1765000000.5', 1_765_000_000_500_000],
  ] as const)('a time in %s is read as epoch µs', (timeUnit, time, expectedUs) => {
    const fields = { time: '$.t', timeUnit, sequence: '$.n', key: '$.topic' }
    const out = read(fields, `{"t":${time},"n":7,"topic":"A"}`)
    expect(out).not.toBeNull()
    expect(out!.q).toBe(7)
    expect(out!.sym).toBe('A')
    // ns: a double near 1.8e18 holds the time only to ~256 ns; the others are exact.
    if (timeUnit === 'ns') expect(Math.abs(out!.ts - expectedUs)).toBeLessThanOrEqual(1)
    else expect(out!.ts).toBe(expectedUs)
  })

  test('nested paths, and a numeric key read as its text', () => {
    const fields = {
      time: '$.meta.time',
      timeUnit: 'ms',
      sequence: '$.meta.seq',
      key: '$.route.id',
    } as const
    expect(read(fields, '{"meta":{"time":1765000000000,"seq":3},"route":{"id":17}}')).toEqual({
      ts: 1_765_000_000_000_000,
      sym: '17',
      q: 3,
    })
    // A step through something that is not an object finds nothing: unreadable, no throw.
    expect(read(fields, '{"meta":5,"route":{"id":"X"}}')).toBeNull()
    expect(read(fields, '{"meta":{"time":1,"seq":3},"route":null}')).toBeNull()
  })

  test('key null: one sequence for the whole stream, the symbol is empty', () => {
    const fields = { time: '$.t', timeUnit: 'ms', sequence: '$.n', key: null } as const
    expect(read(fields, '{"t":1000,"n":9,"topic":"ignored"}')).toEqual({
      ts: 1_000_000,
      sym: '',
      q: 9,
    })
  })

  test.each([
    ['no sequence', '{"t":1000,"topic":"A"}'],
    ['a string sequence', '{"t":1000,"n":"9","topic":"A"}'],
    ['a fractional sequence', '{"t":1000,"n":9.5,"topic":"A"}'],
    ['a negative sequence', '{"t":1000,"n":-1,"topic":"A"}'],
    ['a null sequence', '{"t":1000,"n":null,"topic":"A"}'],
    ['no time', '{"n":9,"topic":"A"}'],
    ['a string time', '{"t":"1000","n":9,"topic":"A"}'],
    ['no key', '{"t":1000,"n":9}'],
    ['an object key', '{"t":1000,"n":9,"topic":{"a":1}}'],
    ['not JSON', 'n=9'],
    ['a JSON array', '[1000,9,"A"]'],
    ['JSON null', 'null'],
  ])('%s is unreadable (false), never a q of 0', (_why, data) => {
    const fields = { time: '$.t', timeUnit: 'ms', sequence: '$.n', key: '$.topic' } as const
    const out = fresh()
    expect(createEventReader(fields).text(data, out)).toBe(false)
    // Nothing half-written into the caller's fields.
    expect(out).toEqual(fresh())
  })

  test("tickstorm's fields refuse a tick without q too", () => {
    expect(read(TICKSTORM_EVENT_FIELDS, '{"ts":1765000000123456,"sym":"AAPL"}')).toBeNull()
  })

  test("tickstorm's fast reader takes no digits for a sequence of 0: q null, q -3, q as text, ts empty", () => {
    const reader = createEventReader(TICKSTORM_EVENT_FIELDS)
    for (const data of [
      '{"ts":1765000000123456,"sym":"AAPL","q":null}',
      '{"ts":1765000000123456,"sym":"AAPL","q":-3}',
      '{"ts":1765000000123456,"sym":"AAPL","q":"7"}',
      '{"ts":1765000000123456,"sym":"AAPL","q":7x}',
      '{"ts":,"sym":"AAPL","q":7}',
    ]) {
      const out: TickFields = { ts: -1, sym: 'untouched', q: -1 }
      expect(reader.text(data, out), data).toBe(false)
      expect(out).toEqual({ ts: -1, sym: 'untouched', q: -1 })
    }
  })

  test('a path that is not a field path is refused when the reader is made', () => {
    expect(() =>
      createEventReader({ time: 'ts', timeUnit: 'us', sequence: '$.q', key: null }),
    ).toThrow(/not a field path: ts/)
    expect(() =>
      createEventReader({ time: '$.ts', timeUnit: 'us', sequence: '$[0]', key: null }),
    ).toThrow(/not a field path/)
  })
})
