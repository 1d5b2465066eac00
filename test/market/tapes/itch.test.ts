import { describe, expect, test } from 'vitest'
import { openByteSource } from '../../../src/market/tapes/byte-source.js'
import { createItchReader } from '../../../src/market/tapes/itch.js'
import { openTape } from '../../../src/market/tapes/open-tape.js'
import type { TapeEvent } from '../../../src/market/tapes/tape-event.js'
import type { TradeCondition } from '../../../src/market/types.js'
import { itch, itchFile } from './itch-writer.js'
import {
  cutCopy,
  gzipCopy,
  openPlus,
  quoteAt,
  readAll,
  rejection,
  tapeDir,
  writeTape,
  zstdCopy,
} from './tape-files.js'

const t = openPlus

/** Every message type the spec defines, in one day of two stocks (locate 1 AAPL, 2 MSFT). */
function day(): Uint8Array {
  return itchFile([
    itch.systemEvent(t(0), 'O'),
    itch.stockDirectory(1, t(0), 'AAPL'),
    itch.stockDirectory(2, t(0), 'MSFT', 100),
    itch.participantPosition(1, t(0), 'GSCO', 'AAPL'),
    itch.regSho(1, t(0), 'AAPL', '0'),
    itch.ipoQuoting(1, t(0), 'AAPL', 1_500_000),
    itch.mwcbDecline(t(0), 1, 2, 3),
    itch.mwcbStatus(t(0), '1'),
    itch.imbalance(1, t(0), 'AAPL', 1_500_000),
    itch.retailInterest(1, t(0), 'AAPL'),
    itch.directListing(1, t(0), 'AAPL', 1_500_000),
    itch.brokenTrade(1, t(0), 99),
    itch.addOrder(1, t(1), 1, 'B', 200, 'AAPL', 1_500_000),
    itch.addOrderMpid(1, t(2), 2, 'S', 300, 'AAPL', 1_501_000, 'GSCO'),
    itch.addOrder(1, t(3), 3, 'B', 100, 'AAPL', 1_500_000),
    itch.executed(1, t(4), 2, 100, 1),
    itch.executedWithPrice(1, t(5), 1, 50, 2, 'Y', 1_499_900),
    itch.executedWithPrice(1, t(6), 3, 10, 3, 'N', 1_500_000),
    itch.cancel(1, t(7), 3, 40),
    itch.delete(1, t(8), 1),
    itch.replace(1, t(9), 3, 4, 500, 1_500_100),
    itch.trade(1, t(10), 'B', 100, 'AAPL', 1_500_050, 4),
    itch.crossTrade(1, t(11), 1000, 'AAPL', 1_500_000, 5, 'O'),
    itch.crossTrade(1, t(12), 2000, 'AAPL', 1_500_000, 6, 'C'),
    itch.crossTrade(1, t(12), 0, 'AAPL', 1_500_000, 7, 'C'),
    itch.addOrder(2, t(13), 10, 'S', 100, 'MSFT', 4_000_000),
    itch.tradingAction(1, t(14), 'AAPL', 'H', 'T1'),
    itch.luldCollar(1, t(15), 'AAPL', 1_500_000),
    itch.tradingAction(1, t(16), 'AAPL', 'T'),
    itch.operationalHalt(1, t(17), 'AAPL', 'H'),
    itch.operationalHalt(1, t(18), 'AAPL', 'T'),
    itch.delete(1, t(19), 2),
    itch.systemEvent(t(20), 'C'),
  ])
}

const quote = quoteAt
const trade = (
  i: number,
  price: number,
  size: number,
  conditions: TradeCondition[],
): TapeEvent => ({
  kind: 'trade',
  symbol: 'AAPL',
  tsNs: t(i),
  price,
  size,
  conditions,
})
const status = (i: number, value: 'halted' | 'trading', reason: string): TapeEvent => ({
  kind: 'status',
  symbol: 'AAPL',
  tsNs: t(i),
  status: value,
  reason,
})

const EXPECTED: TapeEvent[] = [
  quote(1, 'AAPL', 1_500_000, 200, 0, 0),
  quote(2, 'AAPL', 1_500_000, 200, 1_501_000, 300),
  quote(3, 'AAPL', 1_500_000, 300, 1_501_000, 300),
  trade(4, 1_501_000, 100, [0]), // E: at the order's price; a round lot is regular
  quote(4, 'AAPL', 1_500_000, 300, 1_501_000, 200),
  trade(5, 1_499_900, 50, [1]), // C printable: at its own price; under a lot is odd
  quote(5, 'AAPL', 1_500_000, 250, 1_501_000, 200),
  quote(6, 'AAPL', 1_500_000, 240, 1_501_000, 200), // C not printable: the book only
  quote(7, 'AAPL', 1_500_000, 200, 1_501_000, 200), // X: 40 of order 3's 90
  quote(8, 'AAPL', 1_500_000, 50, 1_501_000, 200), // D: order 1 (150 left) gone
  quote(9, 'AAPL', 1_500_100, 500, 1_501_000, 200), // U: order 3 is now 4, 500 @ 150.01
  trade(10, 1_500_050, 100, [0]), // P: hidden order, not in the book
  trade(11, 1_500_000, 1000, [3]), // Q opening cross
  trade(12, 1_500_000, 2000, [4]), // Q closing cross (the 0-share one says no cross)
  quote(13, 'MSFT', 0, 0, 4_000_000, 100),
  status(14, 'halted', 'T1'),
  status(15, 'halted', 'luld-collar'),
  status(16, 'trading', 'reopen'),
  status(17, 'halted', 'operational'),
  status(18, 'trading', 'operational-resume'),
  quote(19, 'AAPL', 1_500_100, 500, 0, 0),
]

describe('ITCH 5.0 reader', () => {
  test('every message type: the book as quotes, executions and crosses as trades, halts as status', async () => {
    const path = writeTape(tapeDir(), '12072026.NASDAQ_ITCH50', day())
    const reader = await openTape(path)
    const { events } = await readAll(reader)
    expect(events).toEqual(EXPECTED)
    expect(reader.header).toEqual({ format: 'itch', date: '2026-12-07', symbols: [] })
    expect(reader.progress.records).toBe(33)
    expect(reader.progress.truncated).toBeUndefined()
  })

  test('records split across reads at every chunk size give the same ticks', async () => {
    const path = writeTape(tapeDir(), 'day.itch', day())
    for (const chunkBytes of [1, 2, 3, 5, 7, 13, 36]) {
      const { events, batches } = await readAll(await openTape(path, { chunkBytes }))
      expect(events, `chunk ${chunkBytes}`).toEqual(EXPECTED)
      if (chunkBytes < 36) expect(batches).toBeGreaterThan(5)
    }
  })

  test('.gz and .zst are read on the fly, whatever the name', async () => {
    const dir = tapeDir()
    const path = writeTape(dir, 'day.itch', day())
    // Names that say nothing: found by the first bytes after decompression.
    const anonymous = [gzipCopy(path, `${dir}/blob.gz`), zstdCopy(path, `${dir}/noname`)]
    for (const compressed of [gzipCopy(path), zstdCopy(path), ...anonymous]) {
      const reader = await openTape(compressed, { chunkBytes: 7 })
      expect((await readAll(reader)).events).toEqual(EXPECTED)
    }
  })

  test('a symbol filter keeps only those stocks', async () => {
    const path = writeTape(tapeDir(), 'day.itch', day())
    const { events } = await readAll(await openTape(path, { symbols: ['MSFT'] }))
    expect(events).toEqual([quote(13, 'MSFT', 0, 0, 4_000_000, 100)])
  })

  test('a file cut inside a message ends with a halted status per symbol seen, no crash', async () => {
    const dir = tapeDir()
    const path = writeTape(dir, 'day.itch', day())
    const whole = day()
    // Cut 3 bytes into the closing system event: everything before it is read.
    const cut = cutCopy(path, whole.length - 10, `${dir}/cut.itch`)
    const reader = await openTape(cut, { chunkBytes: 5 })
    const { events } = await readAll(reader)
    const last = EXPECTED.at(-1)!
    expect(events.slice(0, -2)).toEqual(EXPECTED)
    expect(events.slice(-2)).toEqual([
      {
        kind: 'status',
        symbol: 'AAPL',
        tsNs: last.tsNs,
        status: 'halted',
        reason: 'tape-truncated',
      },
      {
        kind: 'status',
        symbol: 'MSFT',
        tsNs: last.tsNs,
        status: 'halted',
        reason: 'tape-truncated',
      },
    ])
    expect(reader.progress.truncated).toBe(
      `byte ${whole.length - 14}: a 12-byte message ends after 2 bytes`,
    )
  })

  test('a cut inside a length prefix and a cut gzip stream are truncations too', async () => {
    const dir = tapeDir()
    const path = writeTape(dir, 'day.itch', day())
    const whole = day()
    const prefix = await openTape(cutCopy(path, whole.length - 13, `${dir}/a.itch`))
    await readAll(prefix)
    expect(prefix.progress.truncated).toBe(
      `byte ${whole.length - 14}: a length prefix ends after 1 of 2 bytes`,
    )

    const gz = gzipCopy(path)
    const gzCut = await openTape(cutCopy(gz, 60, `${dir}/cut.itch.gz`))
    const { events } = await readAll(gzCut)
    expect(gzCut.progress.truncated).toBe('the gzip stream ends early')
    expect(events.every((e) => e.kind !== 'status' || e.reason === 'tape-truncated')).toBe(true)
  })

  test('a cut zstd stream is a truncation', async () => {
    const dir = tapeDir()
    const path = writeTape(dir, 'day.itch', day())
    const zst = zstdCopy(path)
    const cut = await openTape(cutCopy(zst, 40, `${dir}/cut.itch.zst`))
    await readAll(cut)
    expect(cut.progress.truncated).toBe('the zstd stream ends early')
  })

  test('an unknown message type is an error naming the file, the byte and what was expected', async () => {
    const dir = tapeDir()
    const good = itch.addOrder(1, t(1), 1, 'B', 200, 'AAPL', 1_500_000)
    const bad = Uint8Array.from(good)
    bad[0] = 0x5a // 'Z'
    const path = writeTape(dir, 'bad.itch', itchFile([itch.stockDirectory(1, t(0), 'AAPL'), bad]))
    const error = await rejection(readAll(await openTape(path, { chunkBytes: 3 })))
    expect(error.code).toBe('TS_ERR_INVALID_TAPE')
    expect(error.message).toBe(
      `${path}: byte 43: expected an ITCH 5.0 message type (S R H Y L V W K J h A F E C X D U P Q B I N O), got 0x5a`,
    )
    // In a compressed tape the offset is the decompressed stream's, and says so.
    const gz = gzipCopy(path)
    expect((await rejection(readAll(await openTape(gz)))).message).toBe(
      `${gz}: byte 43 of the decompressed stream: expected an ITCH 5.0 message type (S R H Y L V W K J h A F E C X D U P Q B I N O), got 0x5a`,
    )
  })

  test("a length that is not the type's, a bad side and a bad trading state are errors", async () => {
    const dir = tapeDir()
    const add = itch.addOrder(1, t(1), 1, 'B', 200, 'AAPL', 1_500_000)
    const long = writeTape(dir, 'long.itch', itchFile([Uint8Array.from([...add, 0])]))
    expect((await rejection(readAll(await openTape(long)))).message).toBe(
      `${long}: byte 2: expected a 'A' message of 36 bytes, the length prefix says 37`,
    )
    const sided = Uint8Array.from(add)
    sided[19] = 0x58
    const side = writeTape(dir, 'side.itch', itchFile([sided]))
    expect((await rejection(readAll(await openTape(side)))).message).toBe(
      `${side}: byte 21: expected a side B or S, got 0x58`,
    )
    const state = writeTape(dir, 'state.itch', itchFile([itch.tradingAction(1, t(1), 'AAPL', 'Z')]))
    expect((await rejection(readAll(await openTape(state)))).message).toBe(
      `${state}: byte 21: expected a trading state H, P, Q or T, got 0x5a`,
    )
  })

  test('a long churn of adds and deletes: a quote each, the book empty at the end', async () => {
    const messages: Uint8Array[] = [itch.stockDirectory(1, t(0), 'AAPL')]
    for (let i = 1; i <= 2000; i++) {
      messages.push(itch.addOrder(1, t(i), i, 'B', 100, 'AAPL', 1_000_000 + i))
      messages.push(itch.delete(1, t(i), i))
    }
    const path = writeTape(tapeDir(), 'churn.itch', itchFile(messages))
    const reader = createItchReader(await openByteSource(path, 4096))
    const { events } = await readAll(reader)
    expect(events).toHaveLength(4000)
    expect(events.at(-1)).toEqual(quote(2000, 'AAPL', 0, 0, 0, 0))
  })
})
