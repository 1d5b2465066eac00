import type { Histogram } from 'hdr-histogram-js'
import { nowUs } from '../clock.js'
import { createEventQueue } from '../market/event-queue.js'
import {
  COUNTER_KEYS,
  decodeHistogram,
  emptyCounters,
  encodeHistogram,
  type MetricCounters,
  type TransportName,
} from '../report/measurements.js'
import { createSpreadSampler } from './broadcast-spread.js'
import type { Engine, EngineContext, Subscriber } from './engines/engine.js'
import { createEventsourceEngine } from './engines/eventsource-engine.js'
import { createLongPollEngine } from './engines/longpoll-engine.js'
import { createSseEngine } from './engines/sse-engine.js'
import { createWsEngine } from './engines/ws-engine.js'
import { createEventReader } from './event-fields.js'
import {
  createWatchListChanger,
  type WatchListChangeSpec,
  type WatchListChanges,
} from './executors/arrival-schedule.js'
import { findHeadsBoard, NO_HEADS } from './heads-board.js'
import { createEventLoopMonitor } from './process-sampler.js'
import type { WireSpec } from './targets/wire-spec.js'
import { createTransportMetrics, type WorkerReport } from './transport-metrics.js'

/** Streaming transports the pool can drive (`http` runs through autocannon instead). */
export type StreamTransport = Exclude<TransportName, 'http'>

export interface LoadPoolOptions {
  readonly transport: StreamTransport
  readonly workerId: number
  readonly baseUrl: string
  readonly retryMs: number
  readonly localAddresses: readonly string[]
  /** The target's description: how to connect and where its events keep their fields. */
  readonly wire: WireSpec
  /** Every symbol (for a target that lists them all for a subscriber of every symbol). */
  readonly universe: readonly string[]
}

/** A live summary for the progress line, sent once a second. */
export interface PoolProgress {
  readonly workerId: number
  readonly connections: number
  readonly deliveries: number
  readonly errors: number
  readonly p99Us: number
}

/**
 * What a pool measured since its previous `live()` (or its start, or its last reset): the live
 * window's raw material, once a second. Histograms are encoded (a plain, structured-clone-safe
 * object, like a WorkerReport) and hold only the span.
 */
export interface PoolLive {
  readonly workerId: number
  /** Wall ms the span covers (a reset starts a new span). */
  readonly fromMs: number
  readonly toMs: number
  readonly latency: string
  /** Connects in the span; a reset does not cut this one (the result keeps the ramp's connects). */
  readonly connectTime: string
  readonly recovery: string
  /** Counter deltas over the span. */
  readonly counters: Readonly<MetricCounters>
  /** Open connections now. */
  readonly connections: number
  /** This thread's event-loop delay p99 over the span, µs. */
  readonly eventLoopDelayP99Us: number
}

/** Subscribers to start: `index` is the subscriber's number in the run (it picks a source address). */
export type SubscriberEntries = readonly {
  readonly index: number
  readonly symbols: readonly string[] | null
}[]

/**
 * One worker's subscribers of one transport and their metrics. Runs inside a worker thread (see
 * load-worker.ts) or inline; the runner talks to both the same way.
 */
export interface LoadPool {
  /** Starts subscribers at `ratePerSec` (spread evenly, bounded bursts: the listen backlog is finite). */
  add(lists: SubscriberEntries, ratePerSec: number): void
  /** Closes the `count` most recently started subscribers. */
  remove(count: number): void
  /** Starts these subscribers now, unpaced: each is an arrival of an open model. */
  arrive(entries: SubscriberEntries): void
  /** Closes the subscribers of these indexes (their sessions ended); unknown ones are ignored. */
  leave(indexes: readonly number[]): void
  /**
   * Subscribers arriving from now on change their watch-lists during their stay, as `spec`
   * draws the changes (from the universe, seeded per subscriber index), until they leave; null:
   * no change any more (the window is over: its tail is counted on lists that hold still).
   */
  planChanges(spec: WatchListChangeSpec | null): void
  /** Cuts the connections of a `fraction` of the subscribers (they reconnect); returns how many. */
  drop(fraction: number): number
  progress(): PoolProgress
  /**
   * Forgets what was measured so far (end of warm-up, start of a capacity step); `baseline` is
   * each symbol's last sequence sent by then, where a subscriber that saw none of a symbol began.
   */
  reset(baseline?: ReadonlyMap<string, number>): void
  /**
   * Events the subscribers have not received of those sent up to `heads` (see
   * Subscriber.missing); with `record`, counted as lost in the metrics.
   */
  tail(heads: ReadonlyMap<string, number>, record: boolean): number
  report(): WorkerReport
  /**
   * What was measured since the previous call (see PoolLive). Costs a snapshot of the totals
   * (three histogram encodes and decodes), so it is for a once-a-second tick; the hot path is
   * untouched: the span is the difference of two snapshots, not a second recording.
   */
  live(): PoolLive
  close(): void
}

export function createEngine(transport: StreamTransport, context: EngineContext): Engine {
  switch (transport) {
    case 'sse':
      return createSseEngine(context)
    case 'longpoll':
      return createLongPollEngine(context)
    case 'ws':
      return createWsEngine(context)
    case 'eventsource':
      return createEventsourceEngine(context)
  }
}

const NO_BASELINE: ReadonlyMap<string, number> = new Map()

/** Connects in progress per worker thread during a ramp (see rampTick). */
const MAX_CONNECTING = 200
/** How often due watch-list changes are made: one timer for all subscribers. */
const CHANGE_TICK_MS = 10

/** A subscriber's next watch-list change, queued by its scheduled time. */
interface DueChange {
  readonly index: number
  /** The subscriber it was drawn for: one that has left (or an index reused) is skipped. */
  readonly subscriber: Subscriber
  readonly changes: WatchListChanges
  readonly symbols: readonly string[]
  /** Scheduled wall time, ms: the next one is drawn from it, so a late tick does not drift. */
  readonly atMs: number
}

export function createLoadPool(options: LoadPoolOptions): LoadPool {
  const metrics = createTransportMetrics(options.transport, {
    nowMs: Date.now(),
    intervalMs: 1000,
    workerId: options.workerId,
  })
  const loop = createEventLoopMonitor()
  // Its own monitor: `loop` covers the window (for validity) and is reset only with it.
  const liveLoop = createEventLoopMonitor()
  const live = createLiveSpans()
  // Recovery's "caught up" reads the target's heads; the broadcast spread samples receipts.
  const spread = createSpreadSampler()
  const heads =
    options.universe.length === 0 ? NO_HEADS : findHeadsBoard(options.baseUrl, options.universe)
  const engine = createEngine(options.transport, {
    baseUrl: new URL(options.baseUrl),
    metrics,
    localAddresses: options.localAddresses,
    retryMs: options.retryMs,
    wire: options.wire,
    reader: createEventReader(options.wire.event),
    universe: options.universe,
    shared: { heads, spread },
  })
  let baseline: ReadonlyMap<string, number> = new Map()
  /**
   * The subscribers started before the window began: only they have the window's start as where
   * they began. One that arrived later (an open model's arrival, still connecting at the end)
   * counts from what it saw (its opening snapshot, its first event), never from a start it missed.
   */
  let present = new Set<number>()
  // By index, in the order they started (remove takes the newest, drop the oldest).
  const subscribers = new Map<number, Subscriber>()
  const pending: { index: number; symbols: readonly string[] | null }[] = []
  let pendingRate = 0
  let rampTimer: NodeJS.Timeout | undefined
  let rampStartedMs = 0
  let rampStarted = 0

  let progressMs = 0
  let progressConnections = -1

  // Watch-list changes (executor arrival-rate): drawn per subscriber, made on one timer.
  let changer: ReturnType<typeof createWatchListChanger> = null
  // Entries of subscribers that left stay until their time comes (at most one each), then go.
  const dueChanges = createEventQueue<DueChange>()
  let changeTimer: NodeJS.Timeout | undefined
  const queueChange = (
    index: number,
    subscriber: Subscriber,
    changes: WatchListChanges,
    fromMs: number,
  ): void => {
    const next = changes.next()
    const atMs = fromMs + next.afterSec * 1000
    dueChanges.push(atMs * 1000, { index, subscriber, changes, symbols: next.symbols, atMs })
  }
  const changeTick = (): void => {
    const nowMs = Date.now()
    while (dueChanges.peekTimeUs() <= nowMs * 1000) {
      const due = dueChanges.pop()
      if (subscribers.get(due.index) !== due.subscriber) continue
      due.subscriber.changeSymbols(due.symbols)
      queueChange(due.index, due.subscriber, due.changes, due.atMs)
    }
  }

  // Connects are paced from the start of the ramp (not by chained delays), so a slow loop
  // catches up instead of drifting; at most 200 per turn, and at most MAX_CONNECTING started and
  // not connected: past a server's listen backlog (512 for uWS) the kernel drops handshakes, and
  // each one dropped costs its client a 1 s SYN retransmission. If nothing connects for a second
  // (a server that refuses), the window stops holding the ramp back.
  const rampTick = (): void => {
    const now = Date.now()
    const due = Math.floor(((now - rampStartedMs) / 1000) * pendingRate) - rampStarted
    if (metrics.connections !== progressConnections) {
      progressConnections = metrics.connections
      progressMs = now
    }
    const connecting = subscribers.size - metrics.connections
    const room = now - progressMs > 1000 ? 200 : MAX_CONNECTING - connecting
    for (let i = 0; i < Math.min(due, 200, room) && pending.length > 0; i++) {
      const next = pending.shift()!
      subscribers.set(next.index, engine.start(next.symbols, next.index))
      rampStarted++
    }
    if (pending.length === 0) {
      clearInterval(rampTimer)
      rampTimer = undefined
    }
  }

  const close = (index: number): void => {
    subscribers.get(index)?.close()
    subscribers.delete(index)
  }

  // Rolls land on whole wall-clock seconds so every worker's intervals share the merge slots.
  let lastRollMs = Date.now()
  const roll = (): void => {
    lastRollMs = Date.now()
    metrics.rollInterval(lastRollMs)
  }
  let intervalTimer: NodeJS.Timeout | undefined
  const alignTimer = setTimeout(
    () => {
      roll()
      intervalTimer = setInterval(roll, 1000)
    },
    1000 - (Date.now() % 1000),
  )

  return {
    add(lists, ratePerSec) {
      pending.push(...lists)
      pendingRate = ratePerSec
      rampStartedMs = Date.now()
      rampStarted = 0
      rampTimer ??= setInterval(rampTick, 10)
    },
    remove(count) {
      if (count <= 0) return
      const newest = [...subscribers.keys()].slice(-count)
      for (const index of newest.reverse()) close(index)
    },
    arrive(entries) {
      const nowMs = Date.now()
      for (const entry of entries) {
        const subscriber = engine.start(entry.symbols, entry.index)
        subscribers.set(entry.index, subscriber)
        const changes = changer?.(entry.index, entry.symbols) ?? null
        if (changes !== null) queueChange(entry.index, subscriber, changes, nowMs)
      }
    },
    planChanges(spec) {
      changer = spec === null ? null : createWatchListChanger(spec, options.universe)
      if (changer !== null) changeTimer ??= setInterval(changeTick, CHANGE_TICK_MS)
      else {
        if (changeTimer !== undefined) clearInterval(changeTimer)
        changeTimer = undefined
        while (dueChanges.size > 0) dueChanges.pop()
      }
    },
    leave(indexes) {
      for (const index of indexes) close(index)
    },
    drop(fraction) {
      const count = Math.ceil(subscribers.size * fraction)
      let dropped = 0
      for (const subscriber of subscribers.values()) {
        if (dropped++ === count) break
        subscriber.drop()
      }
      return count
    },
    progress() {
      return {
        workerId: options.workerId,
        connections: metrics.connections,
        deliveries: metrics.counters.deliveries,
        errors: metrics.counters.errors,
        p99Us: metrics.latencyPercentileUs(99),
      }
    },
    reset(startHeads) {
      metrics.reset(Date.now())
      loop.reset()
      live.reset(Date.now())
      spread.reset(nowUs())
      if (startHeads !== undefined) baseline = startHeads
      present = new Set(subscribers.keys())
    },
    tail(heads, record) {
      let missing = 0
      for (const [index, subscriber] of subscribers) {
        missing += subscriber.missing(heads, present.has(index) ? baseline : NO_BASELINE)
      }
      if (record && missing > 0) metrics.addGap(missing)
      return missing
    },
    report() {
      // A sliver of an interval would share a merge slot with its neighbour; it stays in the totals.
      if (Date.now() - lastRollMs >= 500) roll()
      return {
        ...metrics.toWorkerReport({ eventLoopDelay: loop.summary() }),
        spread: spread.report(nowUs()),
      }
    },
    live() {
      const span = live.next(metrics.toWorkerReport(), Date.now())
      const eventLoopDelayP99Us = liveLoop.summary().p99Us
      liveLoop.reset()
      return { workerId: options.workerId, ...span, eventLoopDelayP99Us }
    },
    close() {
      if (rampTimer !== undefined) clearInterval(rampTimer)
      if (changeTimer !== undefined) clearInterval(changeTimer)
      clearTimeout(alignTimer)
      if (intervalTimer !== undefined) clearInterval(intervalTimer)
      pending.length = 0
      for (const subscriber of subscribers.values()) subscriber.close()
      subscribers.clear()
      loop.stop()
      liveLoop.stop()
    },
  }
}

/**
 * Spans of the live window as differences of the totals: this span's histogram is the totals
 * now minus the totals at the previous call. A reset of the metrics zeroes the totals, so it
 * forgets the previous latency, recovery and counters (not connect time, which a reset keeps).
 */
function createLiveSpans() {
  let fromMs = Date.now()
  let latency: Histogram | null = null
  let connectTime: Histogram | null = null
  let recovery: Histogram | null = null
  let counters = emptyCounters()
  /** `now` minus `before`, encoded; `before` null: all of `now`. */
  const minus = (now: string, before: Histogram | null): string => {
    if (before === null) return now
    const span = decodeHistogram(now)
    span.subtract(before)
    return encodeHistogram(span)
  }
  return {
    reset(nowMs: number): void {
      fromMs = nowMs
      latency = null
      recovery = null
      counters = emptyCounters()
    },
    next(totals: WorkerReport, nowMs: number) {
      const delta = emptyCounters()
      for (const key of COUNTER_KEYS) delta[key] = totals.counters[key] - counters[key]
      const span = {
        fromMs,
        toMs: nowMs,
        latency: minus(totals.latency, latency),
        connectTime: minus(totals.connectTime, connectTime),
        recovery: minus(totals.recovery, recovery),
        counters: delta,
        connections: totals.connections,
      }
      fromMs = nowMs
      latency = decodeHistogram(totals.latency)
      connectTime = decodeHistogram(totals.connectTime)
      recovery = decodeHistogram(totals.recovery)
      counters = { ...totals.counters }
      return span
    },
  }
}
