import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { openTape } from '../../../src/market/tapes/open-tape.js'
import type { TapeEvent } from '../../../src/market/tapes/tape-event.js'
import type { TradeCondition } from '../../../src/market/types.js'
import {
  cutCopy,
  gzipCopy,
  readAll,
  rejection,
  tapeDir,
  writeTape,
  zstdCopy,
} from './tape-files.js'

// LOBSTER's documented layout: message "time,type,order id,size,price,direction", orderbook
// "ask price 1,ask size 1,bid price 1,bid size 1,…", line n of one beside line n of the other.
const ROWS: [string, string][] = [
  ['34200.004241176,1,16113575,18,5853300,1', '5859400,200,5853300,18,5859500,100,5853200,50'],
  ['34200.025552082,1,16120456,18,5859100,-1', '5859100,18,5853300,18,5859400,200,5853200,50'],
  ['34200.201743155,3,16120456,18,5859100,-1', '5859400,200,5853300,18,5859500,100,5853200,50'],
  ['34200.201781370,2,16113575,8,5853300,1', '5859400,200,5853300,10,5859500,100,5853200,50'],
  ['34200.3,4,16113575,10,5853300,1', '5859400,200,5853200,50,5859500,100,5853100,10'],
  ['34200.4,5,0,100,5854000,-1', '5859400,200,5853200,50,5859500,100,5853100,10'],
  ['34200.5,6,-1,5000,5855000,-1', '5859400,200,5853200,50,5859500,100,5853100,10'],
  ['34200.6,7,0,0,-1,-1', '5859400,200,5853200,50,5859500,100,5853100,10'],
  ['34200.7,7,0,0,0,-1', '5859400,200,5853200,50,5859500,100,5853100,10'],
  ['34200.8,7,0,0,1,-1', '5859400,200,5853200,50,5859500,100,5853100,10'],
  ['57599.9,6,-1,9000,5860000,1', '5859400,200,5853200,50,5859500,100,5853100,10'],
  ['57600,3,16113999,50,5853200,1', '9999999999,0,-9999999999,0,9999999999,0,-9999999999,0'],
]

const ns = (seconds: string): number => {
  const [whole, fraction = ''] = seconds.split('.')
  return Number(whole) * 1e9 + Number(fraction.padEnd(9, '0'))
}
const quote = (
  time: string,
  bid: number,
  bidSize: number,
  ask: number,
  askSize: number,
): TapeEvent => ({
  kind: 'quote',
  symbol: 'AAPL',
  tsNs: ns(time),
  bid,
  bidSize,
  ask,
  askSize,
})
const trade = (
  time: string,
  price: number,
  size: number,
  conditions: TradeCondition[],
): TapeEvent => ({
  kind: 'trade',
  symbol: 'AAPL',
  tsNs: ns(time),
  price,
  size,
  conditions,
})
const status = (time: string, value: 'halted' | 'trading', reason: string): TapeEvent => ({
  kind: 'status',
  symbol: 'AAPL',
  tsNs: ns(time),
  status: value,
  reason,
})

const EXPECTED: TapeEvent[] = [
  quote('34200.004241176', 5_853_300, 18, 5_859_400, 200),
  quote('34200.025552082', 5_853_300, 18, 5_859_100, 18),
  quote('34200.201743155', 5_853_300, 18, 5_859_400, 200),
  quote('34200.201781370', 5_853_300, 10, 5_859_400, 200),
  trade('34200.3', 5_853_300, 10, [1]), // visible execution, then the book after it
  quote('34200.3', 5_853_200, 50, 5_859_400, 200),
  trade('34200.4', 5_854_000, 100, [0]), // hidden execution: the book is unchanged
  trade('34200.5', 5_855_000, 5000, [3]), // a cross in the morning is the opening cross
  status('34200.6', 'halted', 'halt'),
  status('34200.7', 'halted', 'quotation-only'),
  status('34200.8', 'trading', 'reopen'),
  trade('57599.9', 5_860_000, 9000, [4]),
  quote('57600', 0, 0, 0, 0), // dummy prices: both sides empty
]

const MESSAGE = 'AAPL_2012-06-21_34200000_57600000_message_2.csv'
const ORDERBOOK = 'AAPL_2012-06-21_34200000_57600000_orderbook_2.csv'

function writePair(dir: string, rows = ROWS): { message: string; orderbook: string } {
  return {
    message: writeTape(dir, MESSAGE, rows.map(([m]) => `${m}\n`).join('')),
    orderbook: writeTape(dir, ORDERBOOK, rows.map(([, b]) => `${b}\n`).join('')),
  }
}

describe('LOBSTER reader', () => {
  test('every event type: the book as quotes, executions and crosses as trades, halts as status', async () => {
    const { message } = writePair(tapeDir())
    const reader = await openTape(message)
    expect((await readAll(reader)).events).toEqual(EXPECTED)
    expect(reader.header).toEqual({ format: 'lobster', date: '2012-06-21', symbols: ['AAPL'] })
    expect(reader.progress.records).toBe(ROWS.length)
    expect(reader.progress.truncated).toBeUndefined()
  })

  test('either file of the pair opens it; lines split across reads give the same ticks', async () => {
    const { orderbook } = writePair(tapeDir())
    for (const chunkBytes of [1, 2, 5, 11, 64]) {
      expect(
        (await readAll(await openTape(orderbook, { chunkBytes }))).events,
        `chunk ${chunkBytes}`,
      ).toEqual(EXPECTED)
    }
  })

  test('compressed files, each its own way, found beside each other', async () => {
    const dir = tapeDir()
    const { message, orderbook } = writePair(dir)
    const gz = gzipCopy(message)
    zstdCopy(orderbook)
    const reader = await openTape(gz, { chunkBytes: 9 })
    expect((await readAll(reader)).events).toEqual(EXPECTED)
  })

  test("a symbol filter without the file's symbol reads nothing", async () => {
    const { message } = writePair(tapeDir())
    expect((await readAll(await openTape(message, { symbols: ['MSFT'] }))).events).toEqual([])
  })

  test('a message file cut inside a line ends with a halted status, no crash', async () => {
    const dir = tapeDir()
    const { message } = writePair(dir)
    const text = readFileSync(message, 'utf8')
    cutCopy(message, text.length - 10, message)
    const reader = await openTape(message, { chunkBytes: 7 })
    const { events } = await readAll(reader)
    expect(events).toEqual([
      ...EXPECTED.slice(0, -1),
      status('57599.9', 'halted', 'tape-truncated'),
    ])
    expect(reader.progress.truncated).toBe(`${message}: line 12 is cut short`)
  })

  test('an orderbook file shorter than its message file is a truncation', async () => {
    const dir = tapeDir()
    const { orderbook, message } = writePair(dir)
    writeTape(
      dir,
      ORDERBOOK,
      ROWS.slice(0, 3)
        .map(([, b]) => `${b}\n`)
        .join(''),
    )
    const reader = await openTape(message, { chunkBytes: 4 })
    const { events } = await readAll(reader)
    expect(events).toEqual([
      ...EXPECTED.slice(0, 3),
      status('34200.201743155', 'halted', 'tape-truncated'),
    ])
    expect(reader.progress.truncated).toBe(
      'the orderbook file ends after line 3 while the message file goes on',
    )
    expect(orderbook).toContain('orderbook')
  })

  test('bad lines name the file, the line and what was expected', async () => {
    const dir = tapeDir()
    const bad = (rows: [string, string][]) => writePair(dir, rows)
    const cases: [[string, string][], 'message' | 'orderbook', string][] = [
      [
        [ROWS[0]!, ['34200.1,9,1,1,1,1', ROWS[1]![1]]],
        'message',
        'line 2: expected an event type 1 to 7, got "9"',
      ],
      [
        [ROWS[0]!, ['34200.1,1,1,1,1', ROWS[1]![1]], ROWS[2]!],
        'message',
        'line 2: expected 6 columns (time, type, order id, size, price, direction), got 5',
      ],
      [
        [['9:30,1,1,1,1,1', ROWS[0]![1]]],
        'message',
        'line 1: expected a time in seconds after midnight, got "9:30"',
      ],
      [
        [ROWS[0]!, ['34200.1,1,1,1,1,0', ROWS[1]![1]]],
        'message',
        'line 2: expected a direction -1 or 1, got "0"',
      ],
      [
        [['34200.1,7,0,0,2,-1', ROWS[0]![1]]],
        'message',
        "line 1: expected a halt line's price -1 (halt), 0 (quoting) or 1 (resume), got 2",
      ],
      [
        [ROWS[0]!, ROWS[1]!, [ROWS[2]![0], '5859400,200,x,18']],
        'orderbook',
        'line 3: expected integer ask price, ask size, bid price, bid size per level (4 columns a level), got "5859400,200,x,18"',
      ],
      [
        [[ROWS[0]![0], '5859400,200,5853300,18,5859500']],
        'orderbook',
        'line 1: expected integer ask price, ask size, bid price, bid size per level (4 columns a level), got "5859400,200,5853300,18,5859500"',
      ],
      [
        [ROWS[0]!, ['', ROWS[1]![1]]],
        'message',
        'line 2: expected 6 columns (time, type, order id, size, price, direction), got 1',
      ],
    ]
    for (const [rows, file, expected] of cases) {
      const pair = bad(rows)
      const error = await rejection(readAll(await openTape(pair.message, { chunkBytes: 6 })))
      expect(error.code).toBe('TS_ERR_INVALID_TAPE')
      expect(error.message).toBe(`${pair[file]}: ${expected}`)
    }
  })

  test("a missing partner and a name that is not LOBSTER's are errors", async () => {
    const dir = tapeDir()
    const lonely = writeTape(dir, MESSAGE, `${ROWS[0]![0]}\n`)
    expect((await rejection(openTape(lonely))).message).toBe(
      `${lonely}: file name: expected its orderbook file beside it: ${dir}/${ORDERBOOK}`,
    )
    const odd = writeTape(dir, 'aapl.csv', `${ROWS[0]![0]}\n`)
    expect((await rejection(openTape(odd))).message).toMatch(
      /^.*aapl\.csv: byte 0: expected a tape of a known format/,
    )
    expect((await rejection(openTape(odd, { format: 'lobster' }))).message).toBe(
      `${odd}: file name: expected a LOBSTER name TICKER_YYYY-MM-DD_STARTMS_ENDMS_message_LEVEL.csv (or _orderbook_), optionally .gz or .zst`,
    )
  })
})
