import { nowUs } from '../clock.js'
import { Problems } from '../errors.js'
import type { Market, Tick } from '../market/types.js'
import { createEventLog, type TickFrame } from './event-log.js'
import { createLatestValues } from './latest-values.js'
import { createListeners, type FrameSource } from './log-source.js'
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

/** The event log fed by a market in this process, paced in real time: the default LogSource. */
export interface Feed extends FrameSource {
  readonly market: Market
  readonly options: FeedOptions
  readonly running: boolean
  start(): void
  stop(): void
  /**
   * Runs the frame due at `deadlineUs` (epoch µs) now. The pacer calls this; tests and benchmarks
   * may call it directly to drive the feed without timers.
   */
  runFrame(deadlineUs: number, nowUs?: number): void
}

export interface FeedDeps {
  readonly market: Market
  readonly clock?: () => number
  /**
   * The sequence this log continues after (a publisher restarted on an existing stream, its
   * market fast-forwarded to where the stream ends); 0 by default.
   */
  readonly afterSeq?: number
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
  const writer = createEventLog(symbols, createLatestValues(market), options)
  const { log } = writer
  const tickListeners = createListeners<TickFrame>()
  const ticks: Tick[] = []

  let startWallUs = 0
  let startSimUs = market.simTimeUs
  let seq = deps.afterSeq ?? 0
  if (seq > 0) writer.restartAfter(seq)

  const runFrame = (deadlineUs: number, now = clock()): void => {
    const lagUs = Math.max(0, now - deadlineUs)
    const untilSimUs = startSimUs + Math.floor((deadlineUs - startWallUs) * options.speed)
    ticks.length = 0
    market.advanceTo(untilSimUs, ticks)
    if (ticks.length === 0) {
      writer.countEmptyFrame(lagUs)
      return
    }
    const scheduledUs: number[] = new Array(ticks.length)
    for (let i = 0; i < ticks.length; i++) {
      scheduledUs[i] = startWallUs + Math.round((ticks[i]!.simTimeUs - startSimUs) / options.speed)
    }
    const frame: TickFrame = {
      firstSeq: seq + 1,
      ticks: ticks.slice(),
      scheduledUs,
      deadlineUs,
      lagUs,
    }
    seq += ticks.length
    writer.append(frame)
    tickListeners.emit(frame)
  }

  const pacer = createPacer({
    frameUs: Math.round(options.frameMs * 1000),
    clock,
    onFrame: runFrame,
  })

  return {
    history: log.history,
    symbols,
    get headSeq() {
      return seq
    },
    onFrame: log.onFrame,
    state: log.state,
    stats: log.stats,
    market,
    options,
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
    onTickFrame: tickListeners.add,
    describe: () => ({ kind: 'market' }),
    async close() {
      pacer.stop()
    },
    runFrame,
  }
}
