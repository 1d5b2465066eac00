import type { Executor } from './executor.js'
import { planOf, runPlan } from './phases.js'

/** A fixed crowd for the whole measurement: `subscribers.count`, connected before it starts. */
export const constantExecutor: Executor = {
  name: 'constant',
  peakSubscribers: (scenario, segment) => planOf(scenario, false, segment).peak,
  unsplittable: null,
  run: (context) => runPlan(context, planOf(context.scenario, false, context.segment)),
}
