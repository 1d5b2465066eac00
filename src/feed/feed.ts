import { nowUs } from '../clock.js'
import { Problems } from '../errors.js'
import type { Market, Tick } from '../market/types.js'
import { encodeSseEvent } from '../wire/sse-frame.js'
import { encodeTickJson } from '../wire/tick-json.js'
import type { FeedEvent, FeedFrame } from './feed-event.js'
import { createHistory, type History } from './history.js'
import { createLatestValues, type SymbolState } from './latest-values.js'
import { createPacer } from './pacer.js'

export interface FeedOptions {
  /** Simulated seconds per wall-clock second. */
  readonly speed: number
  /** Pacing frame: ticks due within one frame are published together. */
  readonly frameMs: number
  /** Replay ring bounds: whichever binds first evicts the oldest events. */
  readonly historyEvents: number
  readonly historyBytes: number
}

export const DEFAULT_FEED_OPTIONS: FeedOptions = Object.freeze({
  speed: 1,
  frameMs: 5,
  historyEvents: 100_000,
  historyBytes: 64 * 1024 * 1024,
})

export function resolveFeedOptions(partial: Partial<FeedOptions> = {}): FeedOptions {
  const problems = new Problems()
  problems.unknownKeys('', partial, DEFAULT_FEED_OPTIONS)
  const options = { ...DEFAULT_FEED_OPTIONS, ...partial }
  problems.number('speed', options.speed, 0.001, 10_000)
  problems.number('frameMs', options.frameMs, 1, 1000)
  problems.int('historyEvents', options.historyEvents, 1, 10_000_000)
  problems.int('historyBytes', options.historyBytes, 1024, 4 * 1024 * 1024 * 1024)
  problems.throwIfAny('feed options')
  return Object.freeze(options)
}

export interface FeedStats {
  readonly frames: number
  readonly events: number
  readonly headSeq: number
  readonly historySize: number
  readonly historyBytes: number
  readonly historyFirstSeq: number
  /** Pacing-loop lag: how late the last frame ran, the worst so far, and the mean. */
  readonly lastLagUs: number
  readonly maxLagUs: number
  readonly meanLagUs: number
}

export interface Feed {
  readonly market: Market
  readonly options: FeedOptions
  readonly history: History
  /** Symbol names by instrument index. */
  readonly symbols: readonly string[]
  readonly headSeq: number
  readonly running: boolean
  start(): void
  stop(): void
  /** Listeners run synchronously, in order, once per frame that has events. */
  onFrame(listener: (frame: FeedFrame) => void): () => void
  state(symbol: number): SymbolState
  stats(): FeedStats
  /**
   * Runs the frame due at `deadlineUs` (epoch µs) now. The pacer calls this; tests and benchmarks
   * may call it directly to drive the feed without timers.
   */
  runFrame(deadlineUs: number, nowUs?: number): void
}

export interface FeedDeps {
  readonly market: Market
  readonly clock?: () => number
}

/**
 * The event log: drives the market in (speed-scaled) real time, numbers every tick with one global
 * strictly increasing sequence, encodes it once, keeps it in the replay ring and the latest values,
 * and hands each frame to the transports.
 */
export function createFeed(deps: FeedDeps, partial: Partial<FeedOptions> = {}): Feed {
  const options = resolveFeedOptions(partial)
  const { market } = deps
  const clock = deps.clock ?? nowUs
  const symbols = market.instruments.map((instrument) => instrument.symbol)
  const history = createHistory({
    maxEvents: options.historyEvents,
    maxBytes: options.historyBytes,
  })
  const latest = createLatestValues(market)
  const listeners: ((frame: FeedFrame) => void)[] = []
  const ticks: Tick[] = []

  let startWallUs = 0
  let startSimUs = market.simTimeUs
  let seq = 0
  let frames = 0
  let lastLagUs = 0
  let maxLagUs = 0
  let lagSumUs = 0

  const runFrame = (deadlineUs: number, now = clock()): void => {
    const lagUs = Math.max(0, now - deadlineUs)
    lastLagUs = lagUs
    if (lagUs > maxLagUs) maxLagUs = lagUs
    lagSumUs += lagUs
    frames++

    const untilSimUs = startSimUs + Math.floor((deadlineUs - startWallUs) * options.speed)
    ticks.length = 0
    market.advanceTo(untilSimUs, ticks)
    if (ticks.length === 0) return

    const events: FeedEvent[] = new Array(ticks.length)
    for (let i = 0; i < ticks.length; i++) {
      const tick = ticks[i]!
      seq++
      const scheduledUs = startWallUs + Math.round((tick.simTimeUs - startSimUs) / options.speed)
      const json = encodeTickJson(tick, symbols[tick.symbol]!, scheduledUs)
      const event: FeedEvent = {
        seq,
        symbol: tick.symbol,
        type: tick.kind,
        scheduledUs,
        json,
        sse: encodeSseEvent(seq, tick.kind, json),
      }
      events[i] = event
      latest.apply(tick)
      history.append(event)
    }
    const frame: FeedFrame = { events, deadlineUs, lagUs }
    for (const listener of listeners) listener(frame)
  }

  const pacer = createPacer({
    frameUs: Math.round(options.frameMs * 1000),
    clock,
    onFrame: runFrame,
  })

  return {
    market,
    options,
    history,
    symbols,
    get headSeq() {
      return seq
    },
    get running() {
      return pacer.running
    },
    start() {
      if (pacer.running) return
      startWallUs = clock()
      startSimUs = market.simTimeUs
      pacer.start()
    },
    stop() {
      pacer.stop()
    },
    onFrame(listener) {
      listeners.push(listener)
      return () => {
        const index = listeners.indexOf(listener)
        if (index >= 0) listeners.splice(index, 1)
      }
    },
    state: (symbol) => latest.get(symbol),
    stats() {
      return {
        frames,
        events: seq,
        headSeq: seq,
        historySize: history.size,
        historyBytes: history.bytes,
        historyFirstSeq: history.firstSeq,
        lastLagUs,
        maxLagUs,
        meanLagUs: frames === 0 ? 0 : Math.round(lagSumUs / frames),
      }
    },
    runFrame,
  }
}
