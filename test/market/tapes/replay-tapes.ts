/**
 * Tapes for the replay tests (`serve --tape`, `feed --tape`): a DBN day and an ITCH day written
 * with the test writers, and what a replay must send for a tape's events (the model's JSON, q
 * counted per symbol, then one `tape-ended` status per symbol).
 */

import type { TapeEvent } from '../../../src/market/tapes/tape-event.js'
import { formatPrice } from '../../../src/wire/tick-json.js'
import { openSse } from '../../helpers/sse-client.js'
import { waitFor } from '../../helpers/wait.js'
import {
  imbalanceRecord,
  join,
  mbp1,
  metadata,
  SCHEMA,
  statusRecord,
  tradeRecord,
  UNDEF_PRICE,
} from './dbn-writer.js'
import { itch, itchFile } from './itch-writer.js'
import { dollars, MIDNIGHT_NS, OPEN_NS } from './tape-files.js'

export { OPEN_NS }

/**
 * Two symbols over 1.2 s of tape: quotes every 20 ms on alternating symbols (with a burst of five
 * in one microsecond), and a trade every 200 ms.
 */
export function dbnTape(): Uint8Array {
  const records: Uint8Array[] = [
    metadata({
      version: 2,
      schema: SCHEMA.mixed,
      symbols: ['AAPL', 'MSFT'],
      mappings: [
        ['AAPL', [[20240328, 20240329, 101]]],
        ['MSFT', [[20240328, 20240329, 102]]],
      ],
    }),
  ]
  const at = (us: number): bigint => MIDNIGHT_NS + BigInt(OPEN_NS) + BigInt(us) * 1000n
  for (let i = 0; i < 60; i++) {
    const us = i < 5 ? 0 : i * 20_000
    records.push(
      mbp1({
        id: i % 2 === 0 ? 101 : 102,
        tsRecv: at(us),
        action: 'A',
        side: 'B',
        price: dollars(100 + i / 100),
        size: 100,
        bid: dollars(100 + i / 100),
        bidSize: 100 + i,
        ask: i === 7 ? UNDEF_PRICE : dollars(100.05 + i / 100),
        askSize: i === 7 ? 0 : 200,
      }),
    )
    if (i % 10 === 9) records.push(tradeRecord(101, at(us + 1), dollars(100.02), 30 + i))
  }
  return join(records)
}

/**
 * A DBN status file's day (schema mixed, v3): AAPL and MSFT quotes, AAPL's pre-open (no tick), a
 * news halt of AAPL at +100 ms and its resumption at +300 ms, a trade, and two imbalance records
 * (skipped and counted).
 */
export function dbnHaltTape(): Uint8Array {
  const at = (ms: number): bigint => MIDNIGHT_NS + BigInt(OPEN_NS) + BigInt(ms) * 1_000_000n
  const quote = (id: number, ms: number, bid: number) =>
    mbp1({
      id,
      tsRecv: at(ms),
      action: 'A',
      side: 'B',
      price: dollars(bid),
      size: 100,
      bid: dollars(bid),
      bidSize: 100,
      ask: dollars(bid + 0.01),
      askSize: 200,
    })
  return join([
    metadata({
      version: 3,
      schema: SCHEMA.mixed,
      symbols: ['AAPL', 'MSFT'],
      mappings: [
        ['AAPL', [[20240328, 20240329, 101]]],
        ['MSFT', [[20240328, 20240329, 102]]],
      ],
    }),
    // StatusAction 1 pre-open, reason 1 scheduled: no tick.
    statusRecord({ id: 101, tsRecv: at(0), action: 1, reason: 1, isTrading: 'N' }),
    quote(101, 0, 150),
    quote(102, 50, 400),
    imbalanceRecord(101, at(60)),
    // StatusAction 8 halt, reason 30 news pending.
    statusRecord({ id: 101, tsRecv: at(100), action: 8, reason: 30, isTrading: 'N' }),
    quote(102, 200, 400.5),
    imbalanceRecord(102, at(250)),
    // StatusAction 7 trading, no reason given.
    statusRecord({ id: 101, tsRecv: at(300), action: 7, reason: 0, isTrading: 'Y' }),
    tradeRecord(101, at(301), dollars(150.01), 300),
  ])
}

/** AAPL and MSFT adds from 09:29:59.9, a MSFT trade and halt; the replay starts at 09:30:00. */
export function itchTape(): Uint8Array {
  const open = OPEN_NS
  const messages = [
    itch.stockDirectory(1, open - 1e9, 'AAPL'),
    itch.stockDirectory(2, open - 1e9, 'MSFT'),
  ]
  messages.push(itch.stockDirectory(3, open - 1e9, 'NVDA'))
  for (let i = 0; i < 30; i++) {
    const locate = (i % 3) + 1
    const stock = ['AAPL', 'MSFT', 'NVDA'][i % 3]!
    messages.push(
      itch.addOrder(
        locate,
        open - 100_000_000 + i * 10_000_000,
        i + 1,
        i % 2 ? 'S' : 'B',
        100 + i,
        stock,
        1_000_000 + i * 100,
      ),
    )
  }
  messages.push(itch.trade(2, open + 250_000_000, 'B', 100, 'MSFT', 1_001_000, 99))
  messages.push(itch.tradingAction(2, open + 300_000_000, 'MSFT', 'H', 'T1'))
  return itchFile(messages)
}

/** What the server must send for these tape events: the model's JSON, q counted per symbol. */
export function expected(
  events: readonly TapeEvent[],
  symbols: readonly string[],
): Record<string, unknown>[] {
  const q = new Map<string, number>()
  const out: Record<string, unknown>[] = []
  const next = (symbol: string): number => {
    const value = (q.get(symbol) ?? 0) + 1
    q.set(symbol, value)
    return value
  }
  for (const event of events) {
    const head = { sym: event.symbol, q: next(event.symbol) }
    if (event.kind === 'quote') {
      out.push({
        ...head,
        bp: Number(formatPrice(event.bid)),
        bs: event.bidSize,
        ap: Number(formatPrice(event.ask)),
        as: event.askSize,
      })
    } else if (event.kind === 'trade') {
      out.push({
        ...head,
        p: Number(formatPrice(event.price)),
        s: event.size,
        c: [...event.conditions],
      })
    } else {
      out.push({ ...head, status: event.status, reason: event.reason })
    }
  }
  for (const symbol of symbols)
    out.push({ sym: symbol, q: next(symbol), status: 'halted', reason: 'tape-ended' })
  return out
}

/** One tick as a client read it: its SSE type, id and JSON. */
export interface Received {
  readonly type: string
  readonly id: number
  readonly data: Record<string, unknown>
}

/** Reads a stream until it has `count` ticks (quote, trade, status), through the project's parser. */
export async function ticks(
  url: string,
  count: number,
  headers: Record<string, string> = {},
): Promise<Received[]> {
  const stream = await openSse(url, { headers })
  const received = (): Received[] =>
    stream.events
      .filter(
        (event) => event.type === 'quote' || event.type === 'trade' || event.type === 'status',
      )
      .map((event) => ({
        type: event.type,
        id: Number(event.lastEventId),
        data: JSON.parse(event.data),
      }))
  await waitFor(`${count} ticks`, () => received().length >= count, {
    state: () => received().length,
  })
  stream.close()
  return received()
}

export const FROM_START = { 'last-event-id': '0' }

export const withoutTs = (received: readonly Received[]) =>
  received.map(({ data }) => {
    const { ts: _ts, ...rest } = data
    return rest
  })
