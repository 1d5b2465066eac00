/**
 * The subscribers of one transport across the worker pools, as one: who connects when, the
 * run's clock, and the progress reports. Executors drive a run through it.
 */

import { ERROR_CODES, TickstormError } from '../errors.js'
import type { TransportName } from '../report/measurements.js'
import type { WatchListChangeSpec } from './executors/arrival-schedule.js'
import { createLiveWindow, harnessHealthMeter } from './live-window.js'
import type { SubscriberEntries } from './load-pool.js'
import type { PoolHandle } from './pool-handle.js'
import type { HarnessHealth, LiveWindow, RunContext } from './run-context.js'
import type { WorkerReport } from './transport-metrics.js'

/** How long a ramp may overrun its plan before the run gives up on full connection. */
const RAMP_GRACE_SEC = 15
/** How often a waited ramp asks the pools how many are connected (reports stay at 250 ms). */
const RAMP_POLL_MS = 25
const RAMP_REPORT_MS = 250
/** How often the pools are asked for their live spans (each ask snapshots their histograms). */
const LIVE_MS = 1000

export interface Session {
  /** The run's planned wall seconds, for the progress line (the executor sets it). */
  totalSec: number
  /**
   * Moves to `count` subscribers, each with the next watch-list: new ones connect at `rampSec`'s
   * pace (or the scenario's connect rate), surplus ones (the newest) close. With
   * `waitForConnections`, resolves when all are connected (TS_ERR_SUBSCRIBERS_NOT_CONNECTED
   * after the planned time and a grace period).
   */
  rampTo(count: number, waitForConnections: boolean, rampSec?: number): Promise<void>
  /**
   * Starts subscribers now, unpaced (an open model's arrivals): `index` numbers each one in the
   * run, the same pool always holds the same index, and `symbols` is its watch-list.
   */
  arrive(entries: SubscriberEntries): void
  /** Closes the subscribers of these indexes (their sessions ended). */
  leave(indexes: readonly number[]): void
  /** Subscribers arriving from now on change their watch-lists as `spec` draws; null: stop (LoadPool). */
  planChanges(spec: WatchListChangeSpec | null): void
  /** Reports progress until `seconds` after the session began, then ends the warm-up. */
  warmUp(seconds: number): Promise<void>
  /** Reports progress once a second for `seconds`. */
  hold(seconds: number): Promise<void>
  /**
   * Forgets what the pools measured (the warm-up, or the previous capacity step); `baseline` is
   * each symbol's last sequence sent by now (see LoadPool.reset).
   */
  reset(baseline?: ReadonlyMap<string, number>): void
  reports(): Promise<WorkerReport[]>
}

/** Drives the pools: who connects when, the clock of the run, and the progress reports. */
export function createSession(
  pools: readonly PoolHandle[],
  lists: readonly (readonly string[] | null)[],
  defaultRampPerSec: number,
  transport: TransportName,
  context: RunContext,
): Session {
  const { options } = context
  const startedMs = Date.now()
  let running = 0
  let warmingUp = true
  let lastDeliveries = 0
  let lastProgressMs = Date.now()
  const window = createLiveWindow(startedMs)
  const health = harnessHealthMeter()
  let liveMs = startedMs
  /** Bumped by `reset`: a span asked for before it belongs to the window that ended. */
  let generation = 0

  /** The pools' spans merged into the live window, and the harness's health over them. */
  const live = async (): Promise<{ live?: LiveWindow; harness?: HarnessHealth }> => {
    const asked = generation
    liveMs = Date.now()
    const spans = await Promise.all(pools.map((pool) => pool.live()))
    if (asked !== generation) return {}
    const nowMs = Date.now()
    return {
      live: window.add(spans, nowMs),
      harness: health.read(
        spans.map((span) => span.eventLoopDelayP99Us),
        nowMs,
      ),
    }
  }

  const progress = async () => {
    const parts = await Promise.all(pools.map((pool) => pool.progress()))
    return {
      connected: parts.reduce((sum, part) => sum + part.connections, 0),
      deliveries: parts.reduce((sum, part) => sum + part.deliveries, 0),
      errors: parts.reduce((sum, part) => sum + part.errors, 0),
      p99Us: Math.max(0, ...parts.map((part) => part.p99Us)),
    }
  }

  const tick = async (session: Session): Promise<void> => {
    const [now, extra] = await Promise.all([progress(), live()])
    report(session, now, null, extra)
  }

  const report = (
    session: Session,
    now: Awaited<ReturnType<typeof progress>>,
    allConnectedSec: number | null,
    extra: { live?: LiveWindow; harness?: HarnessHealth } = {},
  ): void => {
    const nowMs = Date.now()
    const deliveriesPerSec =
      now.deliveries >= lastDeliveries
        ? ((now.deliveries - lastDeliveries) * 1000) / Math.max(1, nowMs - lastProgressMs)
        : 0
    lastDeliveries = now.deliveries
    lastProgressMs = nowMs
    options.onProgress?.({
      transport,
      elapsedSec: (nowMs - startedMs) / 1000,
      totalSec: session.totalSec,
      warmingUp,
      connected: now.connected,
      subscribers: running,
      deliveriesPerSec,
      p99Us: now.p99Us,
      errors: now.errors,
      allConnectedSec,
      ...extra,
    })
  }

  /** Each pool's share of `items`, by index: pool w holds the indexes ≡ w (mod pools). */
  const byPool = <T>(items: readonly T[], indexOf: (item: T) => number): T[][] => {
    const shares = pools.map((): T[] => [])
    for (const item of items) shares[indexOf(item) % pools.length]!.push(item)
    return shares
  }

  const sleep = context.pause

  const session: Session = {
    totalSec: 0,
    async rampTo(count, waitForConnections, rampSec) {
      if (count > running) {
        const add = lists
          .slice(running, count)
          .map((symbols, offset) => ({ index: running + offset, symbols }))
        const rate =
          rampSec !== undefined && rampSec > 0 ? (count - running) / rampSec : defaultRampPerSec
        const rampStartedMs = Date.now()
        const shares = byPool(add, (entry) => entry.index)
        for (const [w, pool] of pools.entries()) pool.add(shares[w]!, rate / pools.length)
        const planned = (count - running) / rate
        running = count
        if (!waitForConnections) return
        const deadline = Date.now() + (planned + RAMP_GRACE_SEC) * 1000
        let reportedMs = 0
        while (!context.aborted()) {
          const now = await progress()
          const connected = now.connected
          const nowMs = Date.now()
          if (connected >= count) {
            report(session, now, (nowMs - rampStartedMs) / 1000)
            return
          }
          if (nowMs - reportedMs >= RAMP_REPORT_MS) {
            // The live window at most once a second, never at the poll's pace.
            report(session, now, null, nowMs - liveMs >= LIVE_MS ? await live() : {})
            reportedMs = nowMs
          }
          if (nowMs > deadline) {
            throw new TickstormError(
              ERROR_CODES.SUBSCRIBERS_NOT_CONNECTED,
              `only ${connected} of ${count} ${transport} subscribers connected within ${Math.ceil(planned + RAMP_GRACE_SEC)} s`,
              { details: { transport, connected, asked: count } },
            )
          }
          await sleep(RAMP_POLL_MS)
        }
      } else if (count < running) {
        const remove = running - count
        for (const [w, pool] of pools.entries()) {
          pool.remove(Math.floor(remove / pools.length) + (w < remove % pools.length ? 1 : 0))
        }
        running = count
      }
    },
    arrive(entries) {
      const shares = byPool(entries, (entry) => entry.index)
      for (const [w, pool] of pools.entries()) if (shares[w]!.length > 0) pool.arrive(shares[w]!)
      running += entries.length
    },
    leave(indexes) {
      const shares = byPool(indexes, (index) => index)
      for (const [w, pool] of pools.entries()) if (shares[w]!.length > 0) pool.leave(shares[w]!)
      running -= indexes.length
    },
    planChanges(spec) {
      for (const pool of pools) pool.planChanges(spec)
    },
    async warmUp(seconds) {
      const until = startedMs + seconds * 1000
      while (Date.now() < until && !context.aborted()) {
        await tick(session)
        await sleep(Math.min(1000, Math.max(0, until - Date.now())))
      }
      warmingUp = false
    },
    async hold(seconds) {
      const until = Date.now() + seconds * 1000
      while (Date.now() < until && !context.aborted()) {
        await sleep(Math.min(1000, Math.max(0, until - Date.now())))
        await tick(session)
      }
    },
    reset(baseline) {
      for (const pool of pools) pool.reset(baseline)
      generation++
      window.begin(Date.now())
      warmingUp = false
    },
    reports() {
      return Promise.all(pools.map((pool) => pool.report()))
    },
  }
  return session
}
