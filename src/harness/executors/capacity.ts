/**
 * Capacity search: steps of growing subscriber counts, each connected, warmed up and measured; the
 * first step that breaks a `breakOn` threshold (or is invalid) ends the search, and the step
 * before it is the capacity. The curve of every step is in the result.
 *
 * A step is judged as a run is: a `breakOn` threshold with `over:` on every window of the step's
 * own intervals (those of its measured seconds), so a step whose p99 was bad for 5 of its 30 s
 * breaks `p(99) < 100ms over 5s` even when the step's p99 as a whole holds.
 */

import type { CapacityStep } from '../../report/result-schema.js'
import { evaluateThresholds, intervalsWithin } from '../../report/thresholds.js'
import type { Measured } from '../measure.js'
import { capacityStepCounts } from '../scenario.js'
import type { Executor, ExecutorContext, ExecutorRun } from './executor.js'

export const capacityExecutor: Executor = {
  name: 'capacity',
  peakSubscribers: (scenario) => Math.max(...capacityStepCounts(scenario)),
  unsplittable:
    'executor capacity decides each step from what it measured, and each host sees only its share; run a capacity search from one host, or use executor constant or ramp',
  run: runCapacity,
}

async function runCapacity(context: ExecutorContext): Promise<ExecutorRun | null> {
  const { scenario, session, stage } = context
  const capacity = scenario.capacity!
  const steps = capacityStepCounts(scenario)
  const curve: CapacityStep[] = []
  let best: Measured | undefined
  let last: Measured | undefined
  session.totalSec = steps.length * (capacity.stepDurationSec + 2) + scenario.warmupSec
  let maxPassing = 0
  for (const [index, count] of steps.entries()) {
    stage.phase = 'ramp'
    await session.rampTo(count, true)
    if (context.aborted()) break
    stage.phase = 'warm-up'
    await session.warmUp(index === 0 ? scenario.warmupSec : 1)
    if (context.aborted()) break
    stage.phase = 'measuring'
    // The step's measured seconds: its windows are judged inside them.
    let span = { startMs: Date.now(), endMs: Number.POSITIVE_INFINITY }
    const measured = await context.measure({
      subscribersAsked: count,
      thresholds: scenario.thresholds,
      faults: false,
      during: async () => {
        const startMs = Date.now()
        try {
          await session.hold(capacity.stepDurationSec)
        } finally {
          span = { startMs, endMs: Date.now() }
        }
      },
    })
    const { result } = measured
    if (context.aborted()) {
      // A step cut short says nothing about whether that many subscribers pass: off the curve,
      // though its measurement stands in for the transport's if no step finished.
      last ??= measured
      break
    }
    const outcomes = evaluateThresholds(
      capacity.breakOn,
      result,
      intervalsWithin(measured.merged.intervals, span),
    )
    const passed = outcomes.every((outcome) => outcome.passed) && result.validity.valid
    curve.push({
      subscribers: count,
      p99Us: result.latencyUs.p99,
      lossRatio: result.lossRatio,
      errorRate: result.errorRate,
      passed,
      breakOn: outcomes,
    })
    last = measured
    if (!passed) break
    maxPassing = count
    best = last
  }
  stage.phase = 'finishing'
  const chosen = best ?? last
  if (chosen === undefined) return null
  return {
    ...chosen,
    capacity: { transport: context.transport, maxPassingSubscribers: maxPassing, curve },
  }
}
