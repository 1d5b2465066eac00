/**
 * A closed model's plan: a fixed crowd that moves between subscriber counts in phases (the
 * constant executor has one phase, the ramp executor the scenario's), and the run of such a plan.
 */

import type { Segment } from '../../report/result-schema.js'
import type { Scenario } from '../scenario.js'
import { segmentShare } from '../segment.js'
import type { ExecutorContext, ExecutorRun } from './executor.js'

export interface PhasePlan {
  readonly count: number
  readonly rampSec: number
  readonly durationSec: number
}

export interface SubscriberPlan {
  readonly initial: number
  readonly peak: number
  readonly measuredSec: number
  readonly phases: readonly PhasePlan[]
}

/** This host's share of a subscriber count: all of it, or its segment's. */
function share(count: number, segment: Segment | undefined): number {
  return segment === undefined ? count : segmentShare(count, segment)
}

/**
 * The subscriber counts over time: one constant phase, or the scenario's phases; with a segment,
 * every count is this host's share of it.
 */
export function planOf(scenario: Scenario, usePhases: boolean, segment?: Segment): SubscriberPlan {
  const initial = share(scenario.subscribers.count, segment)
  if (scenario.phases === undefined || !usePhases) {
    const durationSec = scenario.durationSec
    return {
      initial,
      peak: initial,
      measuredSec: durationSec,
      phases: [{ count: initial, rampSec: 0, durationSec }],
    }
  }
  let count = initial
  const phases = scenario.phases.map((phase) => {
    count = phase.count === undefined ? count : share(phase.count, segment)
    return {
      count,
      rampSec: Math.min(phase.rampSec, phase.durationSec),
      durationSec: phase.durationSec,
    }
  })
  return {
    initial,
    peak: Math.max(initial, ...phases.map((phase) => phase.count)),
    measuredSec: phases.reduce((sum, phase) => sum + phase.durationSec, 0),
    phases,
  }
}

/**
 * Connects the first phase's crowd (waiting for all of it), warms up, then measures while the
 * phases move the count, with the scenario's faults fired at their times.
 */
export async function runPlan(
  context: ExecutorContext,
  plan: SubscriberPlan,
): Promise<ExecutorRun | null> {
  const { scenario, session, stage } = context
  session.totalSec = scenario.warmupSec + plan.measuredSec
  stage.phase = 'ramp'
  await session.rampTo(plan.initial, true)
  if (context.aborted()) return null
  stage.phase = 'warm-up'
  await session.warmUp(scenario.warmupSec)
  if (context.aborted()) return null
  stage.phase = 'measuring'
  const measured = await context.measure({
    subscribersAsked: plan.peak,
    thresholds: context.thresholds,
    faults: true,
    during: async () => {
      for (const phase of plan.phases) {
        if (context.aborted()) break
        await session.rampTo(phase.count, false, phase.rampSec)
        await session.hold(phase.durationSec - phase.rampSec)
      }
    },
  })
  stage.phase = 'finishing'
  return measured
}
