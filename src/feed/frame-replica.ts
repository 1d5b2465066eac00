import { nowUs } from '../clock.js'
import { ERROR_CODES, TickstormError } from '../errors.js'
import type { Market } from '../market/types.js'
import { createEventLog, type EventLogOptions, type TickFrame } from './event-log.js'
import type { History } from './history.js'
import { createLatestValues, type SymbolState } from './latest-values.js'
import type { LogSource } from './log-source.js'

/**
 * Where a copy joins the stream: after `headSeq`, with every symbol's latest state as the original
 * had it then. A copy made before the first event (a cluster starting) joins after 0 with no states:
 * its market's initial quotes are the original's, the market being deterministic.
 */
export interface ReplicaJoin {
  readonly headSeq: number
  readonly states?: readonly SymbolState[]
}

/** A LogSource fed with another log's TickFrames, in order, by whoever holds it. */
export interface FrameReplica extends LogSource {
  /** Encodes, stores and publishes one frame; it must continue the head (`firstSeq = head + 1`). */
  append(frame: TickFrame): void
}

/**
 * A copy of the event log, fed frame by frame from elsewhere (a cluster's main thread; the same
 * shape would serve any source of TickFrames). Each copy encodes every frame with the same
 * functions as the original, so ids, replay and snapshots are the same, byte for byte, in every
 * copy. Its pacing lag is the frame's lateness as this copy sees it: the generator's own, plus the
 * hop to here and any wait for this thread's event loop.
 *
 * Copies run side by side and one may be a frame behind another, so a client that got event N
 * from one may resume from N on a copy whose head is still below N. That is not an id from the
 * future: the frames are on their way. Every resume is checked with `history.covers(id)`, so there
 * the copy first calls `catchUp(id)`, which appends (and publishes, before the resuming client
 * is registered) the frames already queued for it; only an id still ahead after that is treated
 * as unknown (a reset snapshot).
 */
export function createFrameReplica(
  market: Market,
  options: EventLogOptions,
  join: ReplicaJoin,
  describe: () => Readonly<Record<string, unknown>>,
  catchUp: (seq: number) => void = () => {},
): FrameReplica {
  const latest = createLatestValues(market)
  for (const state of join.states ?? []) latest.restore(state)
  const symbols = market.instruments.map((instrument) => instrument.symbol)
  const writer = createEventLog(symbols, latest, options)
  const { log } = writer
  if (join.headSeq > 0) writer.restartAfter(join.headSeq)
  let stopped = false
  const ring = log.history
  const history: History = {
    get firstSeq() {
      return ring.firstSeq
    },
    get headSeq() {
      return ring.headSeq
    },
    get size() {
      return ring.size
    },
    get bytes() {
      return ring.bytes
    },
    get evicted() {
      return ring.evicted
    },
    append: (event) => ring.append(event),
    covers(afterSeq) {
      if (afterSeq > ring.headSeq && !stopped) catchUp(afterSeq)
      return ring.covers(afterSeq)
    },
    get: (seq) => ring.get(seq),
    restartAfter: (headSeq) => ring.restartAfter(headSeq),
  }

  return {
    history,
    symbols,
    get headSeq() {
      return log.headSeq
    },
    onFrame: log.onFrame,
    state: log.state,
    stats: log.stats,
    describe,
    // Frames are taken from the start (those that come before the server listens are stored, for
    // replay and snapshots): there is nothing to start, and closing is final.
    async close() {
      stopped = true
    },
    append(frame) {
      if (stopped) return
      // One ordered channel carries every frame, so a gap is a bug: copies that went on past it
      // would disagree on ids. Thrown, it takes the worker down and the cluster says so.
      if (frame.firstSeq !== log.headSeq + 1) {
        throw new TickstormError(
          ERROR_CODES.INTERNAL,
          `frame starting at ${frame.firstSeq} does not follow the head ${log.headSeq}`,
        )
      }
      const lagUs = Math.max(frame.lagUs, nowUs() - frame.deadlineUs)
      writer.append(lagUs === frame.lagUs ? frame : { ...frame, lagUs })
    },
  }
}

/**
 * Frames that queued up while a copy was busy, as one: the copy then fans them out in one pass,
 * one write per connection, as the single server's pacer runs one catch-up frame after a stall.
 * Handled one by one they would cost one write per connection each, and a copy that fell behind
 * would fall further behind. The frames must be consecutive.
 */
export function mergeTickFrames(frames: readonly TickFrame[]): TickFrame {
  const first = frames[0]
  if (first === undefined) throw new Error('mergeTickFrames needs at least one frame')
  if (frames.length === 1) return first
  const ticks: TickFrame['ticks'][number][] = []
  const scheduledUs: number[] = []
  let lagUs = 0
  for (const frame of frames) {
    if (frame.firstSeq !== first.firstSeq + ticks.length) {
      throw new TickstormError(
        ERROR_CODES.INTERNAL,
        `frame starting at ${frame.firstSeq} does not follow ${first.firstSeq + ticks.length - 1}`,
      )
    }
    ticks.push(...frame.ticks)
    scheduledUs.push(...frame.scheduledUs)
    lagUs = Math.max(lagUs, frame.lagUs)
  }
  return {
    firstSeq: first.firstSeq,
    ticks,
    scheduledUs,
    deadlineUs: frames[frames.length - 1]!.deadlineUs,
    lagUs,
  }
}
