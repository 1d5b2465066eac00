import { describe, expect, test } from 'vitest'
import { createMarket } from '../../src/market/market.js'
import { openTape } from '../../src/market/tapes/open-tape.js'
import { continuousConditions, type TapeEvent } from '../../src/market/tapes/tape-event.js'
import type { Tick } from '../../src/market/types.js'
import { tickstorm } from '../helpers/cli.js'
import { readAll, tapeDir } from '../market/tapes/tape-files.js'

/** What a DBN reader must find in the model's ticks written as MBP-1: tops that changed, trades. */
function modelAsTape(seconds: number): TapeEvent[] {
  const market = createMarket({ preset: 'open-burst', seed: 5, symbols: 4 })
  const names = market.instruments.map((instrument) => instrument.symbol)
  const ticks: Tick[] = market.instruments.map((_, i) => ({
    ...market.latestQuote(i),
    simTimeUs: market.startSimTimeUs,
  }))
  market.advanceTo(market.startSimTimeUs + seconds * 1e6, ticks)
  const tops = new Map<number, string>()
  const out: TapeEvent[] = []
  for (const tick of ticks) {
    const symbol = names[tick.symbol]!
    const tsNs = tick.simTimeUs * 1000
    if (tick.kind === 'quote') {
      const top = `${tick.bid}/${tick.bidSize}/${tick.ask}/${tick.askSize}`
      if (tops.get(tick.symbol) === top) continue
      tops.set(tick.symbol, top)
      const { bid, bidSize, ask, askSize } = tick
      out.push({ kind: 'quote', symbol, tsNs, bid, bidSize, ask, askSize })
    } else if (tick.kind === 'trade') {
      const conditions = continuousConditions(tick.size)
      out.push({ kind: 'trade', symbol, tsNs, price: tick.price, size: tick.size, conditions })
    }
  }
  return out
}

describe('tickstorm tape write', () => {
  test("the model's open-burst as a DBN file: every quote and trade, at the model's times", async () => {
    const out = `${tapeDir()}/open.dbn.gz`
    const run = tickstorm([
      'tape',
      'write',
      '--preset',
      'open-burst',
      '--seed',
      '5',
      '--symbols',
      '4',
      '--seconds',
      '40',
      '--out',
      out,
    ])
    expect(await run.exit).toBe(0)
    expect(run.stdout()).toMatch(
      /records \(4 symbols, preset open-burst, seed 5, 09:29:30\.000000 to 09:30:10\.000000 on 2024-03-28\) to /,
    )
    const reader = await openTape(out)
    const { events } = await readAll(reader)
    expect(reader.header.date).toBe('2024-03-28')
    const want = modelAsTape(40)
    expect(want.length).toBeGreaterThan(100)
    expect(events).toEqual(want)
  })

  test('bad values exit 2 naming the flag', async () => {
    const cases: [string[], RegExp][] = [
      [['tape', 'write'], /--out <file.dbn> is required/],
      [['tape', 'write', '--out', 'x.dbn', '--seconds', '0'], /--seconds must be a number above 0/],
      [['tape', 'write', '--out', 'x.dbn', '--date', '28/03/2024'], /--date must be YYYY-MM-DD/],
      [['tape', 'write', '--out', 'x.dbn', '--preset', 'lunch'], /preset/],
    ]
    for (const [args, message] of cases) {
      const run = tickstorm(args)
      expect({ args, code: await run.exit }).toEqual({ args, code: 2 })
      expect(run.stderr()).toMatch(message)
    }
  })
})
