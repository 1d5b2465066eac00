import { describe, expect, test } from 'vitest'
import { openTape } from '../../../src/market/tapes/open-tape.js'
import type { TapeEvent } from '../../../src/market/tapes/tape-event.js'
import type { TradeCondition } from '../../../src/market/types.js'
import {
  type BookRecord,
  imbalanceRecord,
  join,
  mbp1,
  metadata,
  SCHEMA,
  statusRecord,
  symbolMapping,
  systemRecord,
  tradeRecord,
  UNDEF_PRICE,
} from './dbn-writer.js'
import {
  cutCopy,
  dollars,
  MIDNIGHT_NS,
  OPEN_NS,
  openPlus,
  quoteAt,
  readAll,
  rejection,
  tapeDir,
  writeTape,
  zstdCopy,
} from './tape-files.js'

const at = (i: number): bigint => MIDNIGHT_NS + BigInt(OPEN_NS + i * 1000)
const t = openPlus

const MAPPINGS = [
  ['AAPL', [[20240328, 20240329, 101]]],
  [
    'MSFT',
    [
      [20240327, 20240328, 999],
      [20240328, 20240329, 102],
    ],
  ],
] as const

const book = (
  over: Partial<BookRecord> & Pick<BookRecord, 'id' | 'tsRecv' | 'action'>,
): Uint8Array =>
  mbp1({
    price: UNDEF_PRICE,
    size: 0,
    bid: dollars(150),
    bidSize: 100,
    ask: dollars(150.01),
    askSize: 200,
    ...over,
  })

function mbp1Day(version: 1 | 2 | 3): Uint8Array {
  return join([
    metadata({ version, schema: SCHEMA.mbp1, symbols: ['AAPL', 'MSFT'], mappings: MAPPINGS }),
    book({
      id: 101,
      tsRecv: at(0),
      action: 'A',
      side: 'B',
      price: dollars(150),
      size: 100,
      ask: UNDEF_PRICE,
      askSize: 0,
    }),
    book({ id: 101, tsRecv: at(1), action: 'A', side: 'A', price: dollars(150.01), size: 200 }),
    book({ id: 101, tsRecv: at(2), action: 'T', side: 'A', price: dollars(150.01), size: 50 }),
    book({
      id: 101,
      tsRecv: at(3),
      action: 'C',
      side: 'A',
      price: dollars(150.01),
      size: 50,
      askSize: 150,
    }),
    book({
      id: 101,
      tsRecv: at(4),
      action: 'A',
      side: 'A',
      price: dollars(150.05),
      size: 10,
      askSize: 150,
    }),
    systemRecord(at(4)),
    book({
      id: 102,
      tsRecv: at(5),
      action: 'A',
      side: 'B',
      bid: dollars(400.5),
      bidSize: 300,
      ask: dollars(400.6),
      askSize: 100,
    }),
    book({ id: 103, tsRecv: at(6), action: 'A', side: 'B' }),
    symbolMapping(version, 104, at(6), 'NVDA', 'NVDA'),
    book({ id: 104, tsRecv: at(7), action: 'A', side: 'B', bid: dollars(900), bidSize: 1 }),
  ])
}

const quote = quoteAt
const trade = (
  i: number,
  symbol: string,
  price: number,
  size: number,
  conditions: TradeCondition[],
): TapeEvent => ({
  kind: 'trade',
  symbol,
  tsNs: t(i),
  price,
  size,
  conditions,
})

const MBP1_EXPECTED: TapeEvent[] = [
  quote(0, 'AAPL', 1_500_000, 100, 0, 0), // UNDEF_PRICE ask: an empty side
  quote(1, 'AAPL', 1_500_000, 100, 1_500_100, 200),
  trade(2, 'AAPL', 1_500_100, 50, [1]), // action T; the top did not change
  quote(3, 'AAPL', 1_500_000, 100, 1_500_100, 150),
  // at(4): a deeper level changed, the top did not: no quote
  quote(5, 'MSFT', 4_005_000, 300, 4_006_000, 100), // the interval of 2024-03-28, not 03-27's
  quote(6, '103', 1_500_000, 100, 1_500_100, 200), // no mapping: the instrument id
  quote(7, 'NVDA', 9_000_000, 1, 1_500_100, 200), // mapped in band
]

describe('DBN reader', () => {
  for (const version of [1, 2, 3] as const) {
    test(`version ${version}: MBP-1 tops as quotes, action T as trades, symbols from the metadata and mapping records`, async () => {
      const path = writeTape(tapeDir(), `xnas-${version}.mbp-1.dbn`, mbp1Day(version))
      const reader = await openTape(path)
      const { events } = await readAll(reader)
      expect(events).toEqual(MBP1_EXPECTED)
      expect(reader.header).toEqual({
        format: 'dbn',
        date: '2024-03-28',
        symbols: ['AAPL', 'MSFT'],
      })
      expect(reader.progress.records).toBe(10)
      expect(reader.progress.skipped).toEqual({ system: 1 }) // the heartbeat
      expect(reader.progress.truncated).toBeUndefined()
    })
  }

  test('records and the metadata split across reads, and .zst, give the same ticks', async () => {
    const dir = tapeDir()
    const path = writeTape(dir, 'day.dbn', mbp1Day(2))
    for (const chunkBytes of [1, 3, 7, 16, 79]) {
      expect(
        (await readAll(await openTape(path, { chunkBytes }))).events,
        `chunk ${chunkBytes}`,
      ).toEqual(MBP1_EXPECTED)
    }
    const zst = zstdCopy(path, `${dir}/day.dbn.zst`)
    expect((await readAll(await openTape(zst, { chunkBytes: 5 }))).events).toEqual(MBP1_EXPECTED)
    // Detected by its first bytes when the name says nothing.
    const anonymous = zstdCopy(path, `${dir}/download.bin`)
    expect((await readAll(await openTape(anonymous))).events).toEqual(MBP1_EXPECTED)
  })

  test('TBBO: the top before each trade, then the trade', async () => {
    const path = writeTape(
      tapeDir(),
      'day.tbbo.dbn',
      join([
        metadata({ version: 3, schema: SCHEMA.tbbo, symbols: ['AAPL'], mappings: MAPPINGS }),
        book({ id: 101, tsRecv: at(0), action: 'T', side: 'B', price: dollars(150.01), size: 300 }),
        book({ id: 101, tsRecv: at(1), action: 'T', side: 'A', price: dollars(150), size: 100 }),
        book({
          id: 101,
          tsRecv: at(2),
          action: 'T',
          side: 'A',
          price: dollars(150),
          size: 100,
          bidSize: 500,
        }),
      ]),
    )
    expect((await readAll(await openTape(path))).events).toEqual([
      quote(0, 'AAPL', 1_500_000, 100, 1_500_100, 200),
      trade(0, 'AAPL', 1_500_100, 300, [0]),
      trade(1, 'AAPL', 1_500_000, 100, [0]),
      quote(2, 'AAPL', 1_500_000, 500, 1_500_100, 200),
      trade(2, 'AAPL', 1_500_000, 100, [0]),
    ])
  })

  test('trades schema, and a symbol filter', async () => {
    const path = writeTape(
      tapeDir(),
      'day.trades.dbn',
      join([
        metadata({
          version: 1,
          schema: SCHEMA.trades,
          symbols: ['AAPL', 'MSFT'],
          mappings: MAPPINGS,
        }),
        tradeRecord(101, at(0), dollars(150.25), 100),
        tradeRecord(102, at(1), dollars(400.5), 7),
        tradeRecord(101, at(2), dollars(150.26), 250),
      ]),
    )
    expect((await readAll(await openTape(path))).events).toEqual([
      trade(0, 'AAPL', 1_502_500, 100, [0]),
      trade(1, 'MSFT', 4_005_000, 7, [1]),
      trade(2, 'AAPL', 1_502_600, 250, [0]),
    ])
    expect((await readAll(await openTape(path, { symbols: ['MSFT'] }))).events).toEqual([
      trade(1, 'MSFT', 4_005_000, 7, [1]),
    ])
  })

  test('a file cut inside a record ends with a halted status per symbol seen', async () => {
    const dir = tapeDir()
    const whole = mbp1Day(2)
    const path = writeTape(dir, 'day.dbn', whole)
    const reader = await openTape(cutCopy(path, whole.length - 30, `${dir}/cut.dbn`), {
      chunkBytes: 16,
    })
    const { events } = await readAll(reader)
    expect(events).toEqual([
      ...MBP1_EXPECTED.slice(0, -1),
      ...['AAPL', 'MSFT', '103'].map((symbol) => ({
        kind: 'status',
        symbol,
        tsNs: t(6),
        status: 'halted',
        reason: 'tape-truncated',
      })),
    ])
    expect(reader.progress.truncated).toBe(
      `byte ${whole.length - 80}: a 80-byte record ends after 50 bytes`,
    )
  })

  test('a file cut inside the metadata is a truncated tape with no events', async () => {
    const dir = tapeDir()
    const path = writeTape(dir, 'day.dbn', mbp1Day(2))
    const reader = await openTape(cutCopy(path, 60, `${dir}/cut.dbn`))
    expect((await readAll(reader)).events).toEqual([])
    expect(reader.progress.truncated).toBe('byte 60: the metadata header is cut short')
  })

  test('bad input: magic, version, schema, record lengths, each naming the file, the byte and what was expected', async () => {
    const dir = tapeDir()
    const good = mbp1Day(2)
    const cases: [string, Uint8Array, string][] = [
      [
        'magic.dbn',
        join([Uint8Array.from([0x44, 0x42, 0x58, 2]), good.subarray(4)]),
        'byte 0: expected the DBN magic "DBN" and a version byte, got 44 42 58 02',
      ],
      [
        'version.dbn',
        join([Uint8Array.from([0x44, 0x42, 0x4e, 4]), good.subarray(4)]),
        'byte 3: expected DBN version 1, 2 or 3, got 4',
      ],
      [
        'mbo.dbn',
        metadata({ version: 2, schema: SCHEMA.mbo, symbols: [], mappings: [] }),
        'byte 24: expected a DBN schema this reader plays (mbp-1, tbbo, trades, status or mixed), got mbo',
      ],
      [
        'imbalance.dbn',
        metadata({ version: 3, schema: SCHEMA.imbalance, symbols: [], mappings: [] }),
        'byte 24: expected a DBN schema this reader plays (mbp-1, tbbo, trades, status or mixed), got imbalance',
      ],
    ]
    const meta = metadata({ version: 2, schema: SCHEMA.mbp1, symbols: [], mappings: [] })
    const record = book({ id: 1, tsRecv: at(0), action: 'A' })
    const zeroLength = Uint8Array.from(record)
    zeroLength[0] = 3
    cases.push([
      'short.dbn',
      join([meta, zeroLength]),
      `byte ${meta.length}: expected a record length of at least 4 words (16 bytes), got 3`,
    ])
    const shortMbp = Uint8Array.from(record.subarray(0, 48))
    shortMbp[0] = 12
    cases.push([
      'mbp.dbn',
      join([meta, record, shortMbp]),
      `byte ${meta.length + 80}: expected a record of rtype 0x01 to be at least 80 bytes, its length says 48`,
    ])
    for (const [name, bytes, expected] of cases) {
      const path = writeTape(dir, name, bytes)
      const error = await rejection(readAll(await openTape(path, { chunkBytes: 7 })))
      expect(error.code, name).toBe('TS_ERR_INVALID_TAPE')
      expect(error.message).toBe(`${path}: ${expected}`)
    }
  })
})

/** The spec's StatusAction and StatusReason numbers the tests use. */
const ACTION = { preOpen: 1, quoting: 3, trading: 7, halt: 8, pause: 9, close: 12 } as const
const REASON = { none: 0, scheduled: 1, newsPending: 30, newsReleased: 31, luldPause: 50 } as const

const status = (i: number, symbol: string, value: 'halted' | 'trading', reason: string) => ({
  kind: 'status' as const,
  symbol,
  tsNs: t(i),
  status: value,
  reason,
})

/** A mixed file: AAPL's book, its pre-open, open, news halt and resumption, an MSFT LULD pause. */
function haltDay(version: 1 | 2 | 3, schema: number = SCHEMA.mixed): Uint8Array {
  return join([
    metadata({ version, schema, symbols: ['AAPL', 'MSFT'], mappings: MAPPINGS }),
    book({ id: 101, tsRecv: at(0), action: 'A', side: 'B' }),
    statusRecord({
      id: 101,
      tsRecv: at(1),
      action: ACTION.preOpen,
      reason: REASON.scheduled,
      isTrading: 'N',
    }),
    statusRecord({ id: 101, tsRecv: at(2), action: ACTION.trading, reason: 0, isTrading: 'Y' }),
    imbalanceRecord(101, at(3)),
    statusRecord({
      id: 101,
      tsRecv: at(4),
      action: ACTION.halt,
      reason: REASON.newsPending,
      isTrading: 'N',
    }),
    statusRecord({
      id: 102,
      tsRecv: at(5),
      action: ACTION.pause,
      reason: REASON.luldPause,
      isTrading: 'N',
    }),
    statusRecord({
      id: 101,
      tsRecv: at(6),
      action: ACTION.quoting,
      reason: REASON.newsReleased,
      isTrading: 'N',
      isQuoting: 'Y',
    }),
    book({ id: 101, tsRecv: at(7), action: 'A', side: 'B', bidSize: 300 }),
    statusRecord({ id: 101, tsRecv: at(8), action: ACTION.trading, reason: 0, isTrading: 'Y' }),
    // A reason code newer than the reader's table is kept by number.
    statusRecord({ id: 102, tsRecv: at(9), action: ACTION.trading, reason: 200, isTrading: 'Y' }),
    statusRecord({ id: 102, tsRecv: at(10), action: ACTION.close, reason: 1, isTrading: 'N' }),
    imbalanceRecord(102, at(10)),
    tradeRecord(101, at(11), dollars(150.01), 200),
  ])
}

const HALT_DAY_EXPECTED: TapeEvent[] = [
  quote(0, 'AAPL', 1_500_000, 100, 1_500_100, 200),
  // at(1): pre-open, a scheduled step the model has no status for: no tick
  status(2, 'AAPL', 'trading', 'trading'),
  // at(3): an imbalance record, skipped
  status(4, 'AAPL', 'halted', 'news-pending'),
  status(5, 'MSFT', 'halted', 'luld-pause'),
  status(6, 'AAPL', 'halted', 'news-released'), // quoting, not trading: still halted
  quote(7, 'AAPL', 1_500_000, 300, 1_500_100, 200),
  status(8, 'AAPL', 'trading', 'trading'),
  status(9, 'MSFT', 'trading', 'reason-200'),
  // at(10): the close and an imbalance: no tick
  trade(11, 'AAPL', 1_500_100, 200, [0]),
]

describe('DBN status records', () => {
  for (const version of [1, 2, 3] as const) {
    test(`version ${version}: halts and resumptions as status ticks in a mixed file; imbalance records skipped and counted`, async () => {
      const path = writeTape(tapeDir(), `halts-${version}.dbn`, haltDay(version))
      const reader = await openTape(path)
      expect((await readAll(reader)).events).toEqual(HALT_DAY_EXPECTED)
      expect(reader.progress.records).toBe(13)
      expect(reader.progress.skipped).toEqual({ imbalance: 2 })
      expect(reader.progress.truncated).toBeUndefined()
    })
  }

  test('the status schema alone, split across reads, and a symbol filter', async () => {
    const whole = haltDay(3, SCHEMA.status)
    const path = writeTape(tapeDir(), 'halts.status.dbn', whole)
    for (const chunkBytes of [1, 13, 40]) {
      expect((await readAll(await openTape(path, { chunkBytes }))).events).toEqual(
        HALT_DAY_EXPECTED,
      )
    }
    expect((await readAll(await openTape(path, { symbols: ['MSFT'] }))).events).toEqual(
      HALT_DAY_EXPECTED.filter((event) => event.symbol === 'MSFT'),
    )
  })

  test('a file cut inside a status record ends like any other cut: a halted status per symbol seen', async () => {
    const dir = tapeDir()
    const whole = join([
      metadata({ version: 2, schema: SCHEMA.status, symbols: ['AAPL'], mappings: MAPPINGS }),
      statusRecord({ id: 101, tsRecv: at(0), action: ACTION.halt, reason: 0, isTrading: 'N' }),
      statusRecord({ id: 101, tsRecv: at(1), action: ACTION.trading, reason: 0, isTrading: 'Y' }),
    ])
    const path = writeTape(dir, 'halts.dbn', whole)
    const reader = await openTape(cutCopy(path, whole.length - 9, `${dir}/cut.dbn`), {
      chunkBytes: 16,
    })
    expect((await readAll(reader)).events).toEqual([
      status(0, 'AAPL', 'halted', 'halt'),
      status(0, 'AAPL', 'halted', 'tape-truncated'),
    ])
    expect(reader.progress.truncated).toBe(
      `byte ${whole.length - 40}: a 40-byte record ends after 31 bytes`,
    )
  })

  test('a status record shorter than the spec says is an error naming the byte', async () => {
    const dir = tapeDir()
    const meta = metadata({ version: 1, schema: SCHEMA.mixed, symbols: [], mappings: [] })
    const short = statusRecord({
      id: 1,
      tsRecv: at(0),
      action: ACTION.halt,
      reason: 0,
      isTrading: 'N',
    }).slice(0, 32)
    short[0] = 8
    const path = writeTape(dir, 'short.dbn', join([meta, short]))
    const error = await rejection(readAll(await openTape(path)))
    expect(error.code).toBe('TS_ERR_INVALID_TAPE')
    expect(error.message).toBe(
      `${path}: byte ${meta.length}: expected a record of rtype 0x12 to be at least 40 bytes, its length says 32`,
    )
  })
})
