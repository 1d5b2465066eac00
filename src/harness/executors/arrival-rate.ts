/**
 * The open model (k6's `constant-arrival-rate`, with churn): subscribers arrive as a Poisson
 * process at `arrivalRate.ratePerSec`, each stays for a drawn session length and leaves, whatever
 * the server does. At most `maxSubscribers` are in a session at once; an arrival past that is
 * dropped and counted (k6's `dropped_iterations`), so a slow server cannot grow the crowd
 * without bound. Real audiences behave so: they come and go, and a server that only ever saw a
 * fixed crowd connected once has not been tested on connects, subscribes and teardown under load.
 *
 * Arrivals and departures are handled on a 10 ms tick, in their scheduled order, and handed to
 * the pools in batches; a tick late by its timer still delivers every due arrival (the schedule,
 * not the timer, decides who came when). The population's time average is integrated over the
 * scheduled times: Little's law says it is ≈ ratePerSec × mean session once warmed up.
 *
 * With `watchListChanges`, each subscriber also changes what it follows while it stays (as real
 * audiences do): the pools draw and make the changes (they hold the universe to draw from), on
 * one timer each, seeded per subscriber index; they stop when the window ends.
 */

import { createEventQueue } from '../../market/event-queue.js'
import type { ArrivalsSummary, Segment } from '../../report/result-schema.js'
import type { Scenario } from '../scenario.js'
import { segmentRate, segmentShare } from '../segment.js'
import { type ArrivalSchedule, createArrivalSchedule } from './arrival-schedule.js'
import type { Executor, ExecutorContext, ExecutorRun } from './executor.js'

const TICK_MS = 10

export const arrivalRateExecutor: Executor = {
  name: 'arrival-rate',
  peakSubscribers: (scenario, segment) => maxSubscribersOf(scenario, segment),
  unsplittable: null,
  run: runArrivalRate,
}

function maxSubscribersOf(scenario: Scenario, segment: Segment | undefined): number {
  const max = scenario.arrivalRate!.maxSubscribers
  return segment === undefined ? max : segmentShare(max, segment)
}

async function runArrivalRate(context: ExecutorContext): Promise<ExecutorRun | null> {
  const { scenario, session, stage, segment } = context
  const spec = scenario.arrivalRate!
  const ratePerSec = segment === undefined ? spec.ratePerSec : segmentRate(spec.ratePerSec, segment)
  const maxSubscribers = maxSubscribersOf(scenario, segment)
  const stream = segment === undefined ? 'arrival-rate' : `arrival-rate/${segment.index}`
  const changes = spec.watchListChanges
  const pick = scenario.subscribers.watchList.pick
  // Before the first arrival: every subscriber changes, from the warm-up's first on.
  if (changes !== undefined && pick !== 'fixed') {
    session.planChanges({
      everySec: changes.everySec,
      swap: changes.swap,
      pick,
      seed: spec.seed,
      stream,
    })
  }
  const churn = startChurn(
    context,
    createArrivalSchedule({ ratePerSec, sessionSec: spec.sessionSec, seed: spec.seed, stream }),
    maxSubscribers,
  )
  session.totalSec = scenario.warmupSec + scenario.durationSec
  try {
    // No ramp: arrivals are the ramp. The warm-up lets the population reach its steady state.
    stage.phase = 'warm-up'
    await session.warmUp(scenario.warmupSec)
    if (context.aborted()) return null
    stage.phase = 'measuring'
    let counts: ChurnCounts | undefined
    const measured = await context.measure({
      subscribersAsked: maxSubscribers,
      thresholds: context.thresholds,
      faults: true,
      during: async () => {
        churn.restartCounts()
        await session.hold(scenario.durationSec)
        counts = churn.counts()
        // The window is over: what each subscriber still lacks is counted on the lists it holds.
        if (changes !== undefined) session.planChanges(null)
      },
    })
    stage.phase = 'finishing'
    const arrivals: ArrivalsSummary = {
      ratePerSec,
      sessionSecMean: spec.sessionSec.mean,
      sessionDistribution: spec.sessionSec.distribution,
      maxSubscribers,
      seed: spec.seed,
      ...(changes === undefined
        ? {}
        : { watchListChanges: { everySec: changes.everySec, swap: changes.swap } }),
      ...counts!,
    }
    measured.result.arrivals = arrivals
    return measured
  } finally {
    churn.stop()
  }
}

type ChurnCounts = Pick<
  ArrivalsSummary,
  | 'arrivals'
  | 'dropped'
  | 'departures'
  | 'activeMean'
  | 'activeMax'
  | 'activeAtStart'
  | 'activeAtEnd'
>

/** Plays the schedule against the session on a timer until stopped; counts what it did. */
function startChurn(context: ExecutorContext, schedule: ArrivalSchedule, maxSubscribers: number) {
  const { session, lists } = context
  const startMs = Date.now()
  // Departures by scheduled time (µs, the queue's unit), holding the subscriber's index.
  const departures = createEventQueue<number>()
  let next = schedule.next()
  let nextIndex = 0
  let active = 0
  let counts = { arrivals: 0, dropped: 0, departures: 0, activeMax: 0, activeAtStart: 0 }
  let countsFromMs = startMs
  // ∫ active dt over [countsFromMs, lastEventMs], in subscriber-ms.
  let area = 0
  let lastEventMs = startMs

  const advanceTo = (eventMs: number): void => {
    if (eventMs > lastEventMs) {
      area += active * (eventMs - lastEventMs)
      lastEventMs = eventMs
    }
  }

  const tick = (): void => {
    const nowMs = Date.now()
    const arriving: { index: number; symbols: readonly string[] | null }[] = []
    const leaving: number[] = []
    for (;;) {
      const arrivalMs = startMs + next.atSec * 1000
      const departureMs = departures.peekTimeUs() / 1000
      if (departureMs <= nowMs && departureMs <= arrivalMs) {
        advanceTo(departureMs)
        leaving.push(departures.pop())
        active--
        counts.departures++
      } else if (arrivalMs <= nowMs) {
        advanceTo(arrivalMs)
        counts.arrivals++
        if (active < maxSubscribers) {
          const index = nextIndex++
          arriving.push({ index, symbols: lists[index % lists.length] ?? null })
          departures.push((arrivalMs + next.sessionSec * 1000) * 1000, index)
          active++
          counts.activeMax = Math.max(counts.activeMax, active)
        } else {
          counts.dropped++
        }
        next = schedule.next()
      } else break
    }
    advanceTo(nowMs)
    // Leaving first: a slot freed in this tick is free before the next arrivals take one.
    if (leaving.length > 0) session.leave(leaving)
    if (arriving.length > 0) session.arrive(arriving)
  }
  const timer = setInterval(tick, TICK_MS)

  return {
    /** Counts start again from now (the measurement's start). */
    restartCounts(): void {
      tick()
      counts = { arrivals: 0, dropped: 0, departures: 0, activeMax: active, activeAtStart: active }
      countsFromMs = Date.now()
      area = 0
      lastEventMs = Math.max(lastEventMs, countsFromMs)
    },
    counts(): ChurnCounts {
      tick()
      const spanMs = lastEventMs - countsFromMs
      return {
        ...counts,
        activeMean: spanMs > 0 ? area / spanMs : active,
        activeAtEnd: active,
      }
    },
    stop(): void {
      clearInterval(timer)
    },
  }
}
