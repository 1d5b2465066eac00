import type { Tick } from '../market/types.js'
import { encodeSseEvent } from '../wire/sse-frame.js'
import { encodeTickJson } from '../wire/tick-json.js'
import type { FeedEvent, FeedFrame } from './feed-event.js'
import { createHistory, type History } from './history.js'
import type { LatestValues, SymbolState } from './latest-values.js'

/**
 * One pacing frame as the market produced it, before encoding: what crosses a thread or a broker.
 * Event `i` has sequence `firstSeq + i`. Every copy of the log (one process, a worker thread, an
 * edge reading Redis) encodes it with the same functions, so ids and bytes are the same everywhere.
 */
export interface TickFrame {
  readonly firstSeq: number
  readonly ticks: readonly Tick[]
  /** When the market scheduled each tick, epoch µs: latency is measured from here. */
  readonly scheduledUs: readonly number[]
  /** The frame's deadline (epoch µs) and how late the generator ran it. */
  readonly deadlineUs: number
  readonly lagUs: number
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

/** What the transports read: the replay ring, the latest values and the frames as they come. */
export interface EventLog {
  readonly history: History
  /** Symbol names by instrument index. */
  readonly symbols: readonly string[]
  readonly headSeq: number
  /** Listeners run synchronously, in order, once per frame that has events. */
  onFrame(listener: (frame: FeedFrame) => void): () => void
  state(symbol: number): SymbolState
  stats(): FeedStats
  /**
   * For a copy that follows another log (an edge reading Redis): resolves once the head has
   * reached `seq`, or after `timeoutMs`. A client moving from a sibling may bring an id this copy
   * has not read yet; waiting for it beats answering with a reset snapshot.
   */
  awaitSeq?(seq: number, timeoutMs: number): Promise<void>
}

/** The writing side, kept by whoever feeds the log: the local pacer, a worker's port, a Redis reader. */
export interface EventLogWriter {
  readonly log: EventLog
  /**
   * Encodes and stores one frame, and hands it to the listeners unless `publish` is false (a copy
   * loading the past it joined after); its first sequence must follow the head.
   */
  append(frame: TickFrame, publish?: boolean): void
  /**
   * Starts the log over after `headSeq` (an edge joining mid-stream, or a gap it cannot fill):
   * the ring is emptied, so a resume from before it gets a reset snapshot.
   */
  restartAfter(headSeq: number): void
  /** Counts a frame that had no events (pacing statistics only). */
  countEmptyFrame(lagUs: number): void
}

export interface EventLogOptions {
  readonly historyEvents: number
  readonly historyBytes: number
}

export function createEventLog(
  symbols: readonly string[],
  latest: LatestValues,
  options: EventLogOptions,
): EventLogWriter {
  const history = createHistory({
    maxEvents: options.historyEvents,
    maxBytes: options.historyBytes,
  })
  const listeners: ((frame: FeedFrame) => void)[] = []
  let frames = 0
  let events = 0
  let lastLagUs = 0
  let maxLagUs = 0
  let lagSumUs = 0

  const countFrame = (lagUs: number): void => {
    lastLagUs = lagUs
    if (lagUs > maxLagUs) maxLagUs = lagUs
    lagSumUs += lagUs
    frames++
  }

  const log: EventLog = {
    history,
    symbols,
    get headSeq() {
      return history.headSeq
    },
    onFrame(listener) {
      listeners.push(listener)
      return () => {
        const index = listeners.indexOf(listener)
        if (index >= 0) listeners.splice(index, 1)
      }
    },
    state: (symbol) => latest.get(symbol),
    stats: () => ({
      frames,
      events,
      headSeq: history.headSeq,
      historySize: history.size,
      historyBytes: history.bytes,
      historyFirstSeq: history.firstSeq,
      lastLagUs,
      maxLagUs,
      meanLagUs: frames === 0 ? 0 : Math.round(lagSumUs / frames),
    }),
  }

  return {
    log,
    append(frame, publish = true) {
      countFrame(frame.lagUs)
      const { ticks, scheduledUs } = frame
      if (ticks.length === 0) return
      const encoded: FeedEvent[] = new Array(ticks.length)
      for (let i = 0; i < ticks.length; i++) {
        const tick = ticks[i]!
        const seq = frame.firstSeq + i
        const json = encodeTickJson(tick, symbols[tick.symbol]!, scheduledUs[i]!)
        const event: FeedEvent = {
          seq,
          symbol: tick.symbol,
          type: tick.kind,
          scheduledUs: scheduledUs[i]!,
          json,
          sse: encodeSseEvent(seq, tick.kind, json),
        }
        history.append(event)
        latest.apply(tick)
        encoded[i] = event
      }
      events += ticks.length
      if (!publish) return
      const published: FeedFrame = {
        events: encoded,
        deadlineUs: frame.deadlineUs,
        lagUs: frame.lagUs,
      }
      for (const listener of listeners) listener(published)
    },
    restartAfter(headSeq) {
      history.restartAfter(headSeq)
    },
    countEmptyFrame: countFrame,
  }
}
