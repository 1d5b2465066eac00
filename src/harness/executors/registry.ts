import type { ExecutorName } from '../scenario-schema.js'
import { arrivalRateExecutor } from './arrival-rate.js'
import { capacityExecutor } from './capacity.js'
import { constantExecutor } from './constant.js'
import type { Executor } from './executor.js'
import { rampExecutor } from './ramp.js'

/** Every executor, by the name a scenario's `executor` gives (the schema's names, each once). */
export const EXECUTORS: Readonly<Record<ExecutorName, Executor>> = Object.freeze({
  constant: constantExecutor,
  ramp: rampExecutor,
  'arrival-rate': arrivalRateExecutor,
  capacity: capacityExecutor,
})
