import { describe, expect, test } from 'vitest'
import type { FeedEvent } from '../../src/feed/feed-event.js'
import { createHistory } from '../../src/feed/history.js'

function event(seq: number, bytes = 10): FeedEvent {
  return {
    seq,
    symbol: seq % 3,
    type: 'quote',
    scheduledUs: seq,
    json: 'x'.repeat(bytes),
    sse: new Uint8Array(bytes),
  }
}

describe('history ring', () => {
  test('holds the newest events up to its count bound, indexed by sequence', () => {
    const history = createHistory({ maxEvents: 4, maxBytes: 1 << 20 })
    expect(history.covers(0)).toBe(true)
    expect(history.covers(1)).toBe(false)
    for (let seq = 1; seq <= 10; seq++) history.append(event(seq))
    expect(history.size).toBe(4)
    expect(history.firstSeq).toBe(7)
    expect(history.headSeq).toBe(10)
    expect(history.evicted).toBe(6)
    expect(history.get(6)).toBeUndefined()
    expect(history.get(7)!.seq).toBe(7)
    expect(history.get(10)!.seq).toBe(10)
    expect(history.get(11)).toBeUndefined()
    // A resume after 6 needs 7..10: all held. After 5 it would need 6: evicted.
    expect(history.covers(6)).toBe(true)
    expect(history.covers(5)).toBe(false)
    expect(history.covers(10)).toBe(true)
    expect(history.covers(11)).toBe(false)
  })

  test('evicts by bytes when the byte bound binds first, counting both encodings', () => {
    const history = createHistory({ maxEvents: 1000, maxBytes: 100 })
    for (let seq = 1; seq <= 20; seq++) history.append(event(seq, 10)) // 20 bytes each
    expect(history.size).toBe(5)
    expect(history.bytes).toBe(100)
    expect(history.firstSeq).toBe(16)
  })

  test('always keeps the newest event, even one larger than the byte bound', () => {
    const history = createHistory({ maxEvents: 10, maxBytes: 50 })
    history.append(event(1, 10))
    history.append(event(2, 100))
    expect(history.size).toBe(1)
    expect(history.get(2)!.seq).toBe(2)
  })

  test('rejects a sequence that is not the next one', () => {
    const history = createHistory({ maxEvents: 10, maxBytes: 1000 })
    history.append(event(1))
    expect(() => history.append(event(3))).toThrow(/expected seq 2, got 3/)
  })
})
