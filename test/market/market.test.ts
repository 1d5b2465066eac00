import { createHash } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import { ERROR_CODES, TickstormError } from '../../src/errors.js'
import {
  createMarket,
  DEFAULT_MARKET_OPTIONS,
  PRESET_NAMES,
  resolveMarketOptions,
} from '../../src/market/market.js'
import { createRng } from '../../src/market/rng.js'
import type { Tick } from '../../src/market/types.js'
import { firstDifference, runMarket, serializeTicks } from './tick-checks.js'

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

function firstTicks(options: Parameters<typeof createMarket>[0], minutes: number): readonly Tick[] {
  const market = createMarket(options)
  return runMarket(market, market.startSimTimeUs + minutes * 60_000_000).ticks
}

describe('resolveMarketOptions', () => {
  test('defaults: seed 1, normal, 500 names at 2,000 events/s', () => {
    expect(DEFAULT_MARKET_OPTIONS).toEqual({ seed: 1, preset: 'normal' })
    expect(resolveMarketOptions()).toEqual({
      seed: 1,
      preset: 'normal',
      symbols: 500,
      ratePerSec: 2000,
    })
  })

  test('universe size and rate default per preset; the rate scales as N^0.8', () => {
    expect(resolveMarketOptions({ preset: 'stress' })).toEqual({
      seed: 1,
      preset: 'stress',
      symbols: 8000,
      ratePerSec: 50_000,
    })
    expect(resolveMarketOptions({ symbols: 1000 }).ratePerSec).toBeCloseTo(2000 * 2 ** 0.8, 9)
    expect(resolveMarketOptions({ preset: 'quiet' }).ratePerSec).toBeCloseTo(400, 9)
    expect(resolveMarketOptions({ ratePerSec: 123.5, symbols: 7 }).ratePerSec).toBe(123.5)
  })

  test('returns a frozen object and is idempotent', () => {
    const resolved = resolveMarketOptions({ seed: 9, preset: 'close' })
    expect(Object.isFrozen(resolved)).toBe(true)
    expect(resolveMarketOptions(resolved)).toEqual(resolved)
  })

  test('reports every problem at once, each with its path and bad value', () => {
    let error: unknown
    try {
      resolveMarketOptions({ seed: -1, preset: 'calm', symbols: 0, ratePerSec: 0, speed: 2 })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(TickstormError)
    const { code, details, message } = error as TickstormError
    expect(code).toBe(ERROR_CODES.INVALID_OPTIONS)
    expect(details).toEqual({
      problems: [
        '`speed` is not a known option, got "speed"',
        '`seed` must be an integer from 0 to 4294967295, got -1',
        `\`preset\` must be one of ${PRESET_NAMES.join(', ')}, got "calm"`,
        '`symbols` must be an integer from 1 to 8000, got 0',
        '`ratePerSec` must be a number above 0 and at most 1000000, got 0',
      ],
    })
    expect(message).toContain('invalid market options')
  })

  test.each([
    [{ seed: 2 ** 32 }, '`seed`'],
    [{ seed: 1.5 }, '`seed`'],
    [{ symbols: 8001 }, '`symbols`'],
    [{ symbols: '5' }, '`symbols`'],
    [{ ratePerSec: 1_000_001 }, '`ratePerSec`'],
    [{ ratePerSec: Number.NaN }, '`ratePerSec`'],
    [{ preset: 'stress', symbols: 0 }, '`symbols`'],
  ])('rejects %j', (input, path) => {
    expect(() => resolveMarketOptions(input)).toThrow(path)
  })

  test('rejects a non-object', () => {
    expect(() => resolveMarketOptions(null as never)).toThrow(TickstormError)
    expect(() => resolveMarketOptions([] as never)).toThrow('must be an object')
  })
})

describe('createMarket', () => {
  test('each preset starts at its documented simulated time', () => {
    const starts = Object.fromEntries(
      PRESET_NAMES.map((preset) => [
        preset,
        createMarket({ preset, symbols: 10 }).startSimTimeUs / 1e6,
      ]),
    )
    const hms = (h: number, m: number, s = 0) => h * 3600 + m * 60 + s
    expect(starts).toEqual({
      quiet: hms(12, 30),
      normal: hms(10, 0),
      'open-burst': hms(9, 29, 30),
      close: hms(15, 45),
      'news-spike': hms(10, 0),
      'flash-crash': hms(14, 30),
      'halt-resume': hms(10, 0),
      stress: hms(10, 0),
    })
  })

  test('exposes its options and the universe; AAPL is symbol 0', () => {
    const market = createMarket({ seed: 5, preset: 'close', symbols: 20 })
    expect(market.seed).toBe(5)
    expect(market.preset).toBe('close')
    expect(market.instruments).toHaveLength(20)
    expect(market.instruments[0]?.symbol).toBe('AAPL')
    expect(market.simTimeUs).toBe(market.startSimTimeUs)
  })

  test('before its first tick a symbol shows its initial quote with seq 0', () => {
    const market = createMarket({ seed: 3, symbols: 50 })
    for (const instrument of market.instruments) {
      const q = market.latestQuote(instrument.index)
      expect(q).toMatchObject({ kind: 'quote', symbol: instrument.index, seq: 0 })
      expect(q.simTimeUs).toBe(market.startSimTimeUs)
      expect(q.ask).toBeGreaterThan(q.bid)
      expect(Math.abs((q.bid + q.ask) / 2 - instrument.startPrice)).toBeLessThanOrEqual(
        2 * instrument.tickUnits + instrument.startPrice * 0.002,
      )
    }
    expect(() => market.latestQuote(50)).toThrow(RangeError)
  })

  test('latestQuote is the last quote emitted for the symbol, the same object', () => {
    const market = createMarket({ seed: 3, symbols: 50 })
    const { ticks } = runMarket(market, market.startSimTimeUs + 10_000_000)
    for (const instrument of market.instruments) {
      const own = ticks.filter((t) => t.kind === 'quote' && t.symbol === instrument.index)
      if (own.length > 0) expect(market.latestQuote(instrument.index)).toBe(own.at(-1))
    }
  })

  test('advanceTo ignores targets in the past and rejects non-finite ones', () => {
    const market = createMarket({ symbols: 20 })
    const out: Tick[] = []
    market.advanceTo(market.startSimTimeUs + 5_000_000, out)
    const produced = out.length
    expect(produced).toBeGreaterThan(0)
    market.advanceTo(market.startSimTimeUs + 1_000_000, out)
    expect(out).toHaveLength(produced)
    expect(market.simTimeUs).toBe(market.startSimTimeUs + 5_000_000)
    expect(() => market.advanceTo(Number.NaN, out)).toThrow(RangeError)
    expect(() => market.advanceTo(Number.POSITIVE_INFINITY, out)).toThrow(RangeError)
  })
})

describe('determinism', () => {
  test('golden: the first 20,000 ticks of seed 42, normal', () => {
    const ticks = firstTicks({ seed: 42 }, 1).slice(0, 20_000)
    expect(ticks).toHaveLength(20_000)
    // A deliberate model change updates these values; an unintended one fails here.
    expect(ticks.slice(0, 2)).toEqual([
      {
        kind: 'trade',
        symbol: 415,
        seq: 1,
        simTimeUs: 36_000_000_613,
        price: 118_000,
        size: 90,
        conditions: [1],
      },
      {
        kind: 'quote',
        symbol: 5,
        seq: 1,
        simTimeUs: 36_000_000_925,
        bid: 224_000,
        bidSize: 200,
        ask: 224_100,
        askSize: 200,
      },
    ])
    expect(ticks.at(-1)?.simTimeUs).toBe(36_007_398_577)
    expect(sha256(serializeTicks(ticks))).toBe(
      'eb7b72bf31571d7797680091109a2e2bf47394e25939f36e00c43ba926e1b4a8',
    )
  })

  test('the same seed and options give the same ticks', () => {
    const a = serializeTicks(firstTicks({ seed: 8, preset: 'news-spike', symbols: 100 }, 2))
    const b = serializeTicks(firstTicks({ seed: 8, preset: 'news-spike', symbols: 100 }, 2))
    expect(a.length).toBeGreaterThan(100_000)
    expect(sha256(a)).toBe(sha256(b))
  })

  test.each(PRESET_NAMES)('%s: output does not depend on how advanceTo is stepped', (preset) => {
    const options = { seed: 77, preset, symbols: preset === 'stress' ? 2000 : 100, ratePerSec: 100 }
    // Long enough to cross each preset's scheduled events (open, news, halt, crash, 15:50).
    const spanUs = (preset === 'close' ? 6 : preset === 'flash-crash' ? 4 : 1) * 60_000_000
    const one = createMarket(options)
    const whole: Tick[] = []
    one.advanceTo(one.startSimTimeUs + spanUs, whole)

    const chunked = createMarket(options)
    const pieces: Tick[] = []
    const steps = createRng(3)
    let t = chunked.startSimTimeUs
    while (t < chunked.startSimTimeUs + spanUs) {
      // Steps from 1 µs to about 2 s, with repeats of the same target.
      t = Math.min(
        chunked.startSimTimeUs + spanUs,
        t + Math.floor(steps.uniform() ** 3 * 2_000_000),
      )
      chunked.advanceTo(t, pieces)
    }
    expect(whole.length).toBeGreaterThan(5000)
    expect(firstDifference(pieces, whole)).toBe(-1)
  })

  test('different seeds give different markets', () => {
    const a = firstTicks({ seed: 1, symbols: 100 }, 1)
    const b = firstTicks({ seed: 2, symbols: 100 }, 1)
    expect(a.length).not.toBe(b.length)
    expect(sha256(serializeTicks(a))).not.toBe(sha256(serializeTicks(b)))
  })

  test('adding a name keeps every other instrument as it was', () => {
    // The tick streams do differ: the Zipf shares renormalise over N + 1 names.
    expect(createMarket({ symbols: 501 }).instruments.slice(0, 500)).toEqual(
      createMarket({ symbols: 500 }).instruments,
    )
  })
})
