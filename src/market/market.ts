/**
 * The simulated market (market-data.md §4): options, and the loop that merges the Hawkes arrivals
 * with scheduled events (bells, imbalance notices, scenario actions, LULD halts) into one stream
 * of ticks on a simulated clock.
 *
 * Determinism: every random draw comes from a named stream, and every computation depends on
 * simulated time only. `advanceTo` stops before the first event past its target and keeps that
 * event pending, so any sequence of targets yields the same ticks as one call. Simultaneous events
 * are ordered: scheduled events first (in scheduling order, crosses by instrument index), then the
 * arrival.
 */

import { ERROR_CODES, Problems, TickstormError } from '../errors.js'
import { createArrivals, createBurstComponent, createMarketComponent } from './arrivals.js'
import { createEventQueue } from './event-queue.js'
import { createInstruments, MAX_INSTRUMENTS } from './instruments.js'
import {
  MEAN_ACTIVITY_MULTIPLIER,
  SESSION_LENGTH_US,
  sessionIndexAt,
  sessionOpenUs,
} from './intraday.js'
import { createLuld, type Luld } from './luld.js'
import { createMarketFactor } from './market-factor.js'
import { buildScenario, meanRateFor, PRESET_NAMES, PRESETS } from './presets.js'
import { createPriceModel } from './price-model.js'
import { createStream } from './rng.js'
import { productAt, type ScenarioAction, stepAt } from './scenario.js'
import { createSymbolChoice, zipfShares } from './symbol-choice.js'
import { createTradeModel, meanTradeShares } from './trades.js'
import type { Market, PresetName, QuoteTick, StatusTick, Tick, TradingStatus } from './types.js'

export { PRESET_NAMES } from './presets.js'

export interface MarketOptions {
  /** Master seed, 0..2^32−1: same seed and options, same ticks. */
  readonly seed: number
  readonly preset: PresetName
  /** Universe size, 1..8,000 (default: the preset's, 500, or 8,000 for stress). */
  readonly symbols?: number
  /** Midday mean event rate λ̄ in events/s (default: the preset's, scaled ∝ N^0.8). */
  readonly ratePerSec?: number
}

export interface ResolvedMarketOptions {
  readonly seed: number
  readonly preset: PresetName
  readonly symbols: number
  readonly ratePerSec: number
}

export const DEFAULT_MARKET_OPTIONS: Readonly<MarketOptions> = Object.freeze({
  seed: 1,
  preset: 'normal',
})

export const MAX_RATE_PER_SEC = 1_000_000

const KNOWN_OPTIONS: Readonly<Record<keyof MarketOptions, true>> = Object.freeze({
  seed: true,
  preset: true,
  symbols: true,
  ratePerSec: true,
})

/** Opening and closing crosses carry about 2% and 10% of a day's volume (§4.2). */
const OPENING_CROSS_SHARE = 0.02
const CLOSING_CROSS_SHARE = 0.1
/** The net order imbalance notice goes out at 15:50:00, 380 minutes after the open. */
const IMBALANCE_OFFSET_US = 380 * 60_000_000
/** ... for every name within one second. */
const IMBALANCE_SPREAD_US = 1_000_000
/** The imbalance burst: × 3 for 2 s. */
const IMBALANCE_RATE_ENVELOPE = Object.freeze({
  symbol: -1,
  fromUs: IMBALANCE_OFFSET_US,
  toUs: IMBALANCE_OFFSET_US + 2_000_000,
  peak: 3,
  decayUs: Number.POSITIVE_INFINITY,
  daily: true,
})
const LULD_PAUSE_US = 5 * 60_000_000

/**
 * Validates market options, reporting every problem with its path at once; absent keys take the
 * preset's defaults. Returns a frozen object. Idempotent: resolved options resolve to themselves.
 */
export function resolveMarketOptions(
  input: Partial<MarketOptions> | Readonly<Record<string, unknown>> = {},
): ResolvedMarketOptions {
  const problems = new Problems()
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    problems.add('market options', 'must be an object', input)
    problems.throwIfAny('market options')
  }
  const given = input as Readonly<Record<string, unknown>>
  problems.unknownKeys('', given, KNOWN_OPTIONS)
  const {
    seed = DEFAULT_MARKET_OPTIONS.seed,
    preset = DEFAULT_MARKET_OPTIONS.preset,
    symbols: givenSymbols,
    ratePerSec: rate,
  } = given
  const seedOk = problems.int('seed', seed, 0, 0xffff_ffff)
  const presetOk = problems.oneOf('preset', preset, PRESET_NAMES)
  const params = presetOk ? PRESETS[preset] : PRESETS.normal
  const symbols = givenSymbols ?? params.defaultSymbols
  const symbolsOk = problems.int('symbols', symbols, 1, MAX_INSTRUMENTS)
  const rateOk =
    rate === undefined ||
    (typeof rate === 'number' && Number.isFinite(rate) && rate > 0 && rate <= MAX_RATE_PER_SEC)
  if (!rateOk) {
    problems.add('ratePerSec', `must be a number above 0 and at most ${MAX_RATE_PER_SEC}`, rate)
  }
  problems.throwIfAny('market options')
  // Unreachable once throwIfAny has passed; it narrows the checked values for the compiler.
  if (!seedOk || !presetOk || !symbolsOk) {
    throw new TickstormError(ERROR_CODES.INVALID_OPTIONS, 'invalid market options')
  }
  return Object.freeze({
    seed,
    preset,
    symbols,
    ratePerSec: typeof rate === 'number' ? rate : meanRateFor(params, symbols),
  })
}

type Scheduled =
  | { readonly kind: 'action'; readonly action: ScenarioAction }
  | { readonly kind: 'bell' }
  | { readonly kind: 'imbalance'; readonly noticeUs: number; readonly symbol: number }

export function createMarket(
  input: Partial<MarketOptions> | Readonly<Record<string, unknown>> = {},
): Market {
  const options = resolveMarketOptions(input)
  const { seed, symbols: count, ratePerSec } = options
  const preset = PRESETS[options.preset]
  const startUs = preset.startSimTimeUs
  const instruments = createInstruments(seed, count)
  const shares = zipfShares(count)
  const built = buildScenario({
    preset,
    seed,
    symbols: count,
    meanRatePerSec: ratePerSec,
    shares,
    rng: createStream(seed, 'scenario'),
  })
  const scenario = preset.auctions
    ? { ...built, rate: [...built.rate, IMBALANCE_RATE_ENVELOPE] }
    : built

  const arrivals = createArrivals({
    rng: createStream(seed, 'arrival-times'),
    startSimTimeUs: startUs,
    kernelDecayPerSec: preset.kernelDecayPerSec,
    components: [
      createMarketComponent(ratePerSec, preset.branchingRatio, scenario),
      ...scenario.bursts.map(createBurstComponent),
    ],
  })
  const choiceRng = createStream(seed, 'arrival-symbols')
  const choice = createSymbolChoice({
    weights: shares,
    stickiness: preset.stickiness,
    memory: preset.stickyMemory,
    rng: choiceRng,
  })
  const burstSymbols = scenario.bursts.map((b) => b.symbol)
  const factor = createMarketFactor({
    rng: createStream(seed, 'market'),
    startSimTimeUs: startUs,
    volatility: preset.marketVolatility,
    scenario,
  })
  const prices = createPriceModel({
    seed,
    instruments,
    factor,
    marketVolatility: preset.marketVolatility,
    volatilityScale: preset.volatilityScale,
    jumpsPerSession: preset.jumpsPerSession,
    jumpSigma: preset.jumpSigma,
    spreadModel: preset.spreadModel,
    scenario,
    startSimTimeUs: startUs,
  })
  const trades = createTradeModel(seed, instruments)
  const luld: Luld | undefined = scenario.luld
    ? createLuld(
        instruments.map((i) => i.startPrice),
        startUs,
      )
    : undefined

  const quoteProbability = 1 / (1 + preset.tradesPerQuote)
  const { spread, quoteSize, tradeSize, sellProbability, quoteOnly } = scenario
  const seq = new Float64Array(count)
  const halted = new Uint8Array(count)
  const latest: QuoteTick[] = instruments.map((_, i) =>
    prices.quote(i, 0, startUs, productAt(spread, i, startUs), productAt(quoteSize, i, startUs)),
  )
  // Expected continuous volume per session (shares), to size the crosses as a part of the day.
  const sessionVolume = instruments.map(
    (instrument, i) =>
      shares[i]! *
      ratePerSec *
      MEAN_ACTIVITY_MULTIPLIER *
      (SESSION_LENGTH_US / 1e6) *
      (1 - quoteProbability) *
      meanTradeShares(instrument.lotSize),
  )
  const continuousPart = 1 - OPENING_CROSS_SHARE - CLOSING_CROSS_SHARE
  const openingCrossVolume = sessionVolume.map((v) => (v * OPENING_CROSS_SHARE) / continuousPart)
  const closingCrossVolume = sessionVolume.map((v) => (v * CLOSING_CROSS_SHARE) / continuousPart)

  const queue = createEventQueue<Scheduled>()
  for (const action of scenario.actions) queue.push(action.atUs, { kind: 'action', action })
  if (preset.auctions) {
    const session = sessionIndexAt(startUs)
    const open = sessionOpenUs(session)
    queue.push(open === startUs ? open : sessionOpenUs(session + 1), { kind: 'bell' })
    const notice = open + IMBALANCE_OFFSET_US
    const noticeUs = notice >= startUs ? notice : notice + SESSION_LENGTH_US
    queue.push(noticeUs, { kind: 'imbalance', noticeUs, symbol: 0 })
  }

  let simTimeUs = startUs

  const status = (
    symbol: number,
    tUs: number,
    value: TradingStatus,
    reason: string,
  ): StatusTick => {
    seq[symbol] = seq[symbol]! + 1
    return { kind: 'status', symbol, seq: seq[symbol]!, simTimeUs: tUs, status: value, reason }
  }

  /** A fresh quote, or a LULD halt when the quote would leave its band. */
  const emitQuote = (symbol: number, tUs: number, out: Tick[]): void => {
    factor.moveTo(tUs)
    prices.step(symbol, tUs)
    if (luld?.breaches(symbol, tUs, prices.midUnits(symbol))) {
      halted[symbol] = 1
      out.push(status(symbol, tUs, 'halted', 'luld'))
      queue.push(tUs + LULD_PAUSE_US, {
        kind: 'action',
        action: { kind: 'resume', atUs: tUs + LULD_PAUSE_US, symbol },
      })
      return
    }
    seq[symbol] = seq[symbol]! + 1
    const quote = prices.quote(
      symbol,
      seq[symbol]!,
      tUs,
      spread.length === 0 ? 1 : productAt(spread, symbol, tUs),
      quoteSize.length === 0 ? 1 : productAt(quoteSize, symbol, tUs),
    )
    latest[symbol] = quote
    out.push(quote)
  }

  const emitTrade = (symbol: number, tUs: number, out: Tick[]): void => {
    seq[symbol] = seq[symbol]! + 1
    out.push(
      trades.trade(
        symbol,
        seq[symbol]!,
        tUs,
        latest[symbol]!,
        sellProbability.length === 0 ? Number.NaN : stepAt(sellProbability, tUs, Number.NaN),
        tradeSize.length === 0 ? 1 : productAt(tradeSize, symbol, tUs),
      ),
    )
  }

  const emitCross = (symbol: number, tUs: number, condition: 3 | 4, out: Tick[]): void => {
    seq[symbol] = seq[symbol]! + 1
    const expected = condition === 3 ? openingCrossVolume[symbol]! : closingCrossVolume[symbol]!
    out.push(trades.cross(symbol, seq[symbol]!, tUs, latest[symbol]!, expected, condition))
  }

  const runAction = (action: ScenarioAction, out: Tick[]): void => {
    const { symbol, atUs } = action
    switch (action.kind) {
      case 'halt':
        if (halted[symbol] === 1) return
        halted[symbol] = 1
        out.push(status(symbol, atUs, 'halted', action.reason))
        return
      case 'jump':
        prices.jump(symbol, action.logJump)
        for (const peer of action.peers) prices.jump(peer.symbol, peer.logJump)
        if (halted[symbol] === 0) emitQuote(symbol, atUs, out)
        return
      case 'resume': {
        if (halted[symbol] === 0) return
        halted[symbol] = 0
        out.push(status(symbol, atUs, 'trading', 'reopen'))
        factor.moveTo(atUs)
        prices.step(symbol, atUs)
        luld?.reset(symbol, atUs, prices.midUnits(symbol))
        // The reopening cross prints at the price the reopening quote shows.
        const quote = prices.quote(
          symbol,
          seq[symbol]! + 2,
          atUs,
          productAt(spread, symbol, atUs),
          productAt(quoteSize, symbol, atUs),
        )
        seq[symbol] = seq[symbol]! + 1
        out.push(trades.cross(symbol, seq[symbol]!, atUs, quote, openingCrossVolume[symbol]!, 3))
        seq[symbol] = seq[symbol]! + 1
        latest[symbol] = quote
        out.push(quote)
        return
      }
    }
  }

  const runScheduled = (tUs: number, event: Scheduled, out: Tick[]): void => {
    switch (event.kind) {
      case 'action':
        runAction(event.action, out)
        return
      case 'bell': {
        // The closing cross ends a session only if it traded (not after open-burst's pre-open).
        const traded = stepAt(quoteOnly, tUs - 1, 0) === 0 && tUs > startUs
        for (let i = 0; traded && i < count; i++) {
          if (halted[i] === 0) emitCross(i, tUs, 4, out)
        }
        for (let i = 0; i < count; i++) {
          if (halted[i] === 0) emitCross(i, tUs, 3, out)
        }
        queue.push(tUs + SESSION_LENGTH_US, event)
        return
      }
      case 'imbalance': {
        const { noticeUs, symbol } = event
        out.push(status(symbol, tUs, 'imbalance', 'noi'))
        if (symbol + 1 < count) {
          const next = symbol + 1
          queue.push(noticeUs + Math.floor((next * IMBALANCE_SPREAD_US) / count), {
            kind: 'imbalance',
            noticeUs,
            symbol: next,
          })
        } else {
          const nextNotice = noticeUs + SESSION_LENGTH_US
          queue.push(nextNotice, { kind: 'imbalance', noticeUs: nextNotice, symbol: 0 })
        }
        return
      }
    }
  }

  return {
    seed,
    preset: options.preset,
    instruments,
    startSimTimeUs: startUs,
    get simTimeUs() {
      return simTimeUs
    },

    advanceTo(untilSimTimeUs: number, out: Tick[]): void {
      if (!Number.isFinite(untilSimTimeUs)) {
        throw new RangeError(`advanceTo needs a finite time, got ${untilSimTimeUs}`)
      }
      const until = Math.floor(untilSimTimeUs)
      if (until <= simTimeUs) return
      for (;;) {
        const arrivalUs = Math.floor(arrivals.timeUs)
        const scheduledUs = queue.peekTimeUs()
        if (scheduledUs <= arrivalUs) {
          if (scheduledUs > until) break
          runScheduled(scheduledUs, queue.pop(), out)
          continue
        }
        if (arrivalUs > until) break
        const component = arrivals.component
        let symbol: number
        if (component === 0) {
          symbol = choice.pick()
        } else {
          symbol = burstSymbols[component - 1]!
          choice.remember(symbol)
        }
        const isQuote = choiceRng.uniform() < quoteProbability
        if (halted[symbol] === 0) {
          if (isQuote || (quoteOnly.length > 0 && stepAt(quoteOnly, arrivalUs, 0) === 1)) {
            emitQuote(symbol, arrivalUs, out)
          } else {
            emitTrade(symbol, arrivalUs, out)
          }
        }
        arrivals.next()
      }
      simTimeUs = until
    },

    latestQuote(symbol: number): QuoteTick {
      const quote = latest[symbol]
      if (quote === undefined) {
        throw new RangeError(`no instrument ${symbol}: the universe has ${count}`)
      }
      return quote
    },
  }
}
