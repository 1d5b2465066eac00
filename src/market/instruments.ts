/**
 * The universe of instruments (market-data.md §4.2), deterministic from the seed.
 *
 * Index = activity rank. The first names are familiar US tickers in roughly their real order of
 * activity, so a demo watch-list (`?symbols=AAPL`) works at any size; the rest are generated.
 * Every field of instrument i depends only on (seed, i, the names before it), never on the
 * universe size: growing the universe from N to N+1 appends one instrument and changes none.
 */

import { createStream, hashUnit, type Rng } from './rng.js'
import { type Instrument, PRICE_SCALE } from './types.js'

export const MAX_INSTRUMENTS = 8000

/** The most active names first (AAPL must stay index 0: the README's example streams it). */
// biome-ignore format: a table reads better than one name per line
export const FAMILIAR_TICKERS: readonly string[] = Object.freeze([
  'AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOGL', 'META', 'TSLA', 'SPY', 'QQQ', 'AMD',
  'NFLX', 'JPM', 'AVGO', 'GOOG', 'IWM', 'BAC', 'INTC', 'PLTR', 'COIN', 'UBER',
  'V', 'MA', 'XOM', 'UNH', 'WMT', 'LLY', 'COST', 'ORCL', 'CRM', 'ADBE',
  'DIS', 'KO', 'PEP', 'CSCO', 'PFE', 'NKE', 'BA', 'HD', 'JNJ', 'PG',
  'CVX', 'WFC', 'GS', 'MS', 'C', 'T', 'VZ', 'F', 'GM', 'MU',
  'QCOM', 'TXN', 'IBM', 'SBUX', 'PYPL', 'SHOP', 'MRK', 'ABBV', 'CAT', 'DIA',
])

/** Round lot by price band (Reg NMS MDI rule, 2025): shares per lot. */
export function roundLotFor(priceUnits: number): number {
  if (priceUnits <= 250 * PRICE_SCALE) return 100
  if (priceUnits <= 1_000 * PRICE_SCALE) return 40
  if (priceUnits <= 10_000 * PRICE_SCALE) return 10
  return 1
}

/** Minimum price increment (Rule 612): $0.01 at or above $1, $0.0001 below. */
export function tickFor(priceUnits: number): number {
  return priceUnits >= PRICE_SCALE ? 100 : 1
}

/** The first `count` instruments of the universe for `seed`. */
export function createInstruments(seed: number, count: number): readonly Instrument[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_INSTRUMENTS) {
    throw new RangeError(`instrument count must be an integer from 1 to ${MAX_INSTRUMENTS}`)
  }
  const used = new Set<string>(FAMILIAR_TICKERS)
  const instruments: Instrument[] = []
  for (let index = 0; index < count; index++) {
    const familiar = FAMILIAR_TICKERS[index]
    const symbol = familiar ?? generateSymbol(seed, index, used)
    used.add(symbol)
    instruments.push(describeInstrument(seed, index, symbol, familiar !== undefined))
  }
  return Object.freeze(instruments)
}

function describeInstrument(
  seed: number,
  index: number,
  symbol: string,
  familiar: boolean,
): Instrument {
  const rng = createStream(seed, `instrument:${symbol}`)
  const dollars = startPriceDollars(rng, familiar)
  const raw = Math.round(dollars * PRICE_SCALE)
  const tickUnits = tickFor(raw)
  const startPrice = Math.max(tickUnits, Math.round(raw / tickUnits) * tickUnits)
  return Object.freeze({
    index,
    symbol,
    tickUnits,
    lotSize: roundLotFor(startPrice),
    startPrice,
    volatility: 0.2 + 0.4 * rng.uniform(),
    beta: 0.6 + 0.8 * rng.uniform(),
  })
}

/**
 * Log-uniform $5–$500, with 2% of names at $1,000–$15,000 and 3% below $5 (1% below $1), so every
 * tick and lot rule is exercised. Familiar names stay in the main band: AAPL at $0.40 would
 * distract a demo more than it would test anything.
 */
function startPriceDollars(rng: Rng, familiar: boolean): number {
  const band = rng.uniform()
  const within = rng.uniform()
  if (familiar || band >= 0.05) return logUniform(5, 500, within)
  if (band < 0.02) return logUniform(1_000, 15_000, within)
  if (band < 0.03) return logUniform(0.1, 1, within)
  return logUniform(1, 5, within)
}

function logUniform(lo: number, hi: number, u: number): number {
  return lo * (hi / lo) ** u
}

/** Mostly 3–4 letters like the listed universe; 1- and 2-letter names are rare and soon taken. */
const LENGTH_CUMULATIVE = [0.01, 0.07, 0.52, 0.94, 1] as const
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'

function generateSymbol(seed: number, index: number, used: ReadonlySet<string>): string {
  for (let attempt = 0; ; attempt++) {
    const length = pickLength(hashUnit(seed, `length:${index}:${attempt}`))
    let symbol = ''
    for (let k = 0; k < length; k++) {
      symbol += LETTERS[Math.floor(hashUnit(seed, `letter:${index}:${attempt}:${k}`) * 26)]
    }
    if (!used.has(symbol)) return symbol
  }
}

function pickLength(u: number): number {
  let length = 1
  for (const bound of LENGTH_CUMULATIVE) {
    if (u < bound) return length
    length++
  }
  return LENGTH_CUMULATIVE.length
}
