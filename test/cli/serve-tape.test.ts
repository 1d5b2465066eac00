import { EventSource } from 'eventsource'
import { describe, expect, test } from 'vitest'
import { openTape } from '../../src/market/tapes/open-tape.js'
import { formatPrice } from '../../src/wire/tick-json.js'
import { tickstorm } from '../helpers/cli.js'
import { waitFor } from '../helpers/wait.js'
import {
  dbnHaltTape,
  dbnTape,
  expected,
  FROM_START,
  itchTape,
  OPEN_NS,
  type Received,
  ticks,
  withoutTs,
} from '../market/tapes/replay-tapes.js'
import { readAll, tapeDir, writeTape } from '../market/tapes/tape-files.js'

async function serveTape(args: string[]) {
  const run = tickstorm(['serve', '--port', '0', '--frame-ms', '2', ...args])
  await waitFor(
    'the server to listen',
    () => /http:\/\/\S+:\d+/.test(run.stdout()) || run.child.exitCode !== null,
    {
      state: () => run.stderr(),
    },
  )
  const url = /http:\/\/\S+:\d+/.exec(run.stdout())?.[0]
  if (url === undefined) throw new Error(`serve exited: ${run.stderr()}`)
  return { run, url }
}

describe('tickstorm serve --tape', () => {
  test('a DBN tape: the ticks, ids and q of the tape, ts spaced by tape time / speed, resume with no gap', async () => {
    const path = writeTape(tapeDir(), 'open.dbn', dbnTape())
    const tape = (await readAll(await openTape(path))).events
    const want = expected(tape, ['AAPL', 'MSFT'])
    const speed = 4
    const { run, url } = await serveTape(['--tape', path, '--speed', String(speed)])
    expect(run.stdout()).toContain(
      `2 symbols (replaying dbn tape ${path} from 09:30:00.000000, speed 4x)`,
    )
    const symbols = await (await fetch(`${url}/v1/symbols`)).json()
    expect(symbols).toMatchObject({
      count: 2,
      symbols: [{ symbol: 'AAPL', startPrice: 100.025 }, { symbol: 'MSFT' }],
    })

    // The replay starts when the server listens: a stream resuming from 0 gets it all from the ring.
    const live = await ticks(`${url}/v1/stream?symbols=AAPL,MSFT`, want.length, FROM_START)
    expect(withoutTs(live)).toEqual(want)
    expect(live.map((event) => event.id)).toEqual(want.map((_, i) => i + 1))
    const startUs = Number(live[0]!.data['ts'])
    const tapeUs = tape.map((event) => Math.floor(event.tsNs / 1000))
    live.slice(0, tape.length).forEach((event, i) => {
      expect(Number(event.data['ts']) - startUs).toBe(Math.round((tapeUs[i]! - tapeUs[0]!) / speed))
    })

    // Resume with the eventsource package from id 40: 41.. exactly, nothing missing or repeated.
    const resumed: Received[] = []
    const source = new EventSource(`${url}/v1/stream?symbols=AAPL,MSFT`, {
      fetch: (input, init) =>
        fetch(input, {
          ...init,
          headers: { ...(init?.headers as Record<string, string>), 'last-event-id': '40' },
        }),
    })
    for (const type of ['quote', 'trade', 'status']) {
      source.addEventListener(type, (event) =>
        resumed.push({ type, id: Number(event.lastEventId), data: JSON.parse(event.data) }),
      )
    }
    await waitFor('the resumed tail', () => resumed.length >= want.length - 40)
    source.close()
    expect(resumed.map((event) => event.id)).toEqual(want.slice(40).map((_, i) => i + 41))
    expect(resumed).toEqual(live.slice(40))

    // Past the tape's end the server keeps serving: a snapshot shows the halted book.
    const snapshot = await (await fetch(`${url}/v1/snapshot?symbols=AAPL`)).json()
    expect(snapshot).toMatchObject({ seq: want.length })
    run.child.kill('SIGTERM')
    expect(await run.exit).toBe(0)
  })

  test('a DBN tape with a halt and a resumption: exact status ticks with their ids; /healthz names the tape, not a preset or seed', async () => {
    const path = writeTape(tapeDir(), 'halts.dbn', dbnHaltTape())
    const tape = (await readAll(await openTape(path))).events
    const { run, url } = await serveTape(['--tape', path, '--speed', '2'])
    const want = expected(tape, ['AAPL', 'MSFT'])
    const live = await ticks(`${url}/v1/stream?symbols=AAPL,MSFT`, want.length, FROM_START)
    expect(withoutTs(live)).toEqual(want)
    // AAPL: quote, halt, resume, trade (the busiest, so first); MSFT: two quotes between.
    expect(
      live
        .filter((event) => event.type === 'status')
        .map(({ id, data: { ts: _ts, ...data } }) => ({ id, ...data })),
    ).toEqual([
      { id: 3, sym: 'AAPL', q: 2, status: 'halted', reason: 'news-pending' },
      { id: 5, sym: 'AAPL', q: 3, status: 'trading', reason: 'trading' },
      { id: 7, sym: 'AAPL', q: 5, status: 'halted', reason: 'tape-ended' },
      { id: 8, sym: 'MSFT', q: 3, status: 'halted', reason: 'tape-ended' },
    ])

    const health = (await (await fetch(`${url}/healthz`)).json()) as Record<string, unknown>
    expect(health).toMatchObject({
      status: 'ok',
      symbols: 2,
      tape: {
        file: 'halts.dbn',
        path,
        format: 'dbn',
        speed: 2,
        start: '09:30:00.000000',
        startNs: OPEN_NS,
        symbols: ['AAPL', 'MSFT'],
      },
      source: { kind: 'tape', path, format: 'dbn' },
    })
    expect(health).not.toHaveProperty('preset')
    expect(health).not.toHaveProperty('seed')
    run.child.kill('SIGTERM')
    expect(await run.exit).toBe(0)
  })

  test('an ITCH day from --tape-start, only --tape-symbols, at speed 1: the opening book and the events after', async () => {
    const path = writeTape(tapeDir(), 'day.bin', itchTape())
    const all = (await readAll(await openTape(path, { format: 'itch', symbols: ['MSFT', 'AAPL'] })))
      .events
    const tape = all.filter((event) => event.tsNs >= OPEN_NS)
    expect(tape.length).toBeGreaterThan(4)
    const { run, url } = await serveTape([
      '--tape',
      path,
      '--tape-format',
      'itch',
      '--tape-start',
      '09:30:00',
      '--tape-symbols',
      'MSFT,AAPL',
    ])
    expect(run.stdout()).toContain('2 symbols (replaying itch tape')
    const live = await ticks(`${url}/v1/stream?symbols=MSFT,AAPL`, tape.length + 2, FROM_START)
    expect(withoutTs(live)).toEqual(expected(tape, ['MSFT', 'AAPL']))
    const startUs = Number(live[0]!.data['ts'])
    live.slice(0, tape.length).forEach((event, i) => {
      const tapeUs = Math.floor(tape[i]!.tsNs / 1000) - Math.floor(tape[0]!.tsNs / 1000)
      expect(Number(event.data['ts']) - startUs).toBe(tapeUs)
    })
    // The records before the start built the book the replay opens with: its mid is AAPL's price.
    const opening = all
      .filter((event) => event.tsNs < OPEN_NS && event.kind === 'quote' && event.symbol === 'AAPL')
      .at(-1)
    if (opening?.kind !== 'quote') throw new Error('the tape has no AAPL quote before the start')
    const mid =
      opening.bid > 0 && opening.ask > 0
        ? Math.round((opening.bid + opening.ask) / 2)
        : opening.bid + opening.ask
    const symbols = (await (await fetch(`${url}/v1/symbols`)).json()) as { symbols: unknown[] }
    expect(symbols.symbols).toEqual([
      expect.objectContaining({ symbol: 'MSFT' }),
      expect.objectContaining({ symbol: 'AAPL', startPrice: Number(formatPrice(mid)) }),
    ])
    run.child.kill('SIGTERM')
    expect(await run.exit).toBe(0)
  })

  test('a LOBSTER pair, named by its message file, at speed 2', async () => {
    const dir = tapeDir()
    const messages: string[] = []
    const books: string[] = []
    for (let i = 0; i < 12; i++) {
      const time = (34_200 + i * 0.05).toFixed(9)
      messages.push(
        i % 4 === 3 ? `${time},4,${i},10,5853300,1` : `${time},1,${i},${10 + i},5853300,1`,
      )
      books.push(`5859400,200,5853300,${100 + i},5859500,100,5853200,50`)
    }
    writeTape(dir, 'AAPL_2012-06-21_34200000_57600000_orderbook_2.csv', `${books.join('\n')}\n`)
    const path = writeTape(
      dir,
      'AAPL_2012-06-21_34200000_57600000_message_2.csv',
      `${messages.join('\n')}\n`,
    )
    const tape = (await readAll(await openTape(path))).events
    expect(tape.some((event) => event.kind === 'trade')).toBe(true)
    const { run, url } = await serveTape(['--tape', path, '--speed', '2'])
    expect(run.stdout()).toContain('1 symbols (replaying lobster tape')
    const live = await ticks(`${url}/v1/stream?symbols=AAPL`, tape.length + 1, FROM_START)
    expect(withoutTs(live)).toEqual(expected(tape, ['AAPL']))
    const startUs = Number(live[0]!.data['ts'])
    expect(Number(live[tape.length - 1]!.data['ts']) - startUs).toBe(
      Math.round((Math.floor(tape.at(-1)!.tsNs / 1000) - Math.floor(tape[0]!.tsNs / 1000)) / 2),
    )
    run.child.kill('SIGTERM')
    expect(await run.exit).toBe(0)
  })

  test('--workers 2: every worker serves the same replay (ids, q, opening book)', async () => {
    const path = writeTape(tapeDir(), 'open.dbn', dbnTape())
    const want = expected((await readAll(await openTape(path))).events, ['AAPL', 'MSFT'])
    const { run, url } = await serveTape(['--tape', path, '--speed', '4', '--workers', '2'])
    const symbols = await (await fetch(`${url}/v1/symbols`)).json()
    expect(symbols).toMatchObject({
      count: 2,
      symbols: [{ symbol: 'AAPL', startPrice: 100.025 }, { symbol: 'MSFT' }],
    })
    // Several connections: the kernel spreads them over the workers; each gets the whole replay.
    const reads = await Promise.all(
      [1, 2, 3, 4].map(() => ticks(`${url}/v1/stream?symbols=AAPL,MSFT`, want.length, FROM_START)),
    )
    for (const live of reads) {
      expect(withoutTs(live)).toEqual(want)
      expect(live.map((event) => event.id)).toEqual(want.map((_, i) => i + 1))
    }
    // The cluster's merged /healthz says the tape too (from the main thread's source).
    const health = (await (await fetch(`${url}/healthz`)).json()) as Record<string, unknown>
    expect(health).toMatchObject({
      workers: 2,
      tape: { file: 'open.dbn', format: 'dbn', speed: 4, symbols: ['AAPL', 'MSFT'] },
    })
    expect(health).not.toHaveProperty('preset')
    run.child.kill('SIGTERM')
    expect(await run.exit).toBe(0)
  })

  test('bad values exit 2 naming the flag; a bad tape exits 1 with TS_ERR_INVALID_TAPE', async () => {
    const dir = tapeDir()
    const good = writeTape(dir, 'open.dbn', dbnTape())
    const bad = writeTape(dir, 'noise.dbn', new Uint8Array(64).fill(7))
    const cases: [string[], number, RegExp][] = [
      [
        ['--tape', good, '--tape-format', 'csv'],
        2,
        /--tape-format: must be one of lobster, dbn, itch/,
      ],
      [['--tape', good, '--tape-start', '25:00:00'], 2, /--tape-start: must be a time/],
      [['--tape', good, '--speed', '0'], 2, /--speed/],
      [['--tape', good, '--seed', '3'], 2, /--seed: --tape replays the tape's market/],
      [['--tape-start', '09:30:00'], 2, /--tape-start: only with --tape/],
      [['--tape', good, '--redis', 'redis://127.0.0.1:1'], 2, /--redis: --tape replays/],
      [['--tape', bad], 1, /TS_ERR_INVALID_TAPE/],
      [['--tape', `${dir}/missing.dbn`], 1, /TS_ERR_INVALID_TAPE/],
      [
        ['--tape', good, '--tape-symbols', 'ZZZZ'],
        1,
        /no events for the symbols ZZZZ.*TS_ERR_INVALID_TAPE/,
      ],
    ]
    for (const [args, code, message] of cases) {
      const run = tickstorm(['serve', '--port', '0', ...args])
      expect({ args, code: await run.exit }).toEqual({ args, code })
      expect(run.stderr()).toMatch(message)
    }
  })
})
