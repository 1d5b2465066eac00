import type { Executor } from './executor.js'
import { planOf, runPlan } from './phases.js'

/**
 * A crowd that moves between counts: each of the scenario's `phases` ramps to its count over its
 * `rampSec` and holds it (k6's `ramping-vus`); without phases, the constant executor's one phase.
 */
export const rampExecutor: Executor = {
  name: 'ramp',
  peakSubscribers: (scenario, segment) => planOf(scenario, true, segment).peak,
  unsplittable: null,
  run: (context) => runPlan(context, planOf(context.scenario, true, context.segment)),
}
