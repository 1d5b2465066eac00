/**
 * Runs a scenario: per transport, one after the other, start the target, hand the subscribers to
 * the scenario's executor, collect what it measured, and put the run's result together. What to
 * do with the result (write it, print it) is the caller's: the CLI writes the result directory.
 */

import { randomUUID } from 'node:crypto'
import { availableParallelism, cpus, release, totalmem, type } from 'node:os'
import { ERROR_CODES, TickstormError } from '../errors.js'
import {
  type LatencyInterval,
  latencyIntervalsOf,
  type TransportName,
} from '../report/measurements.js'
import {
  type CapacityResult,
  formatSegment,
  type Interruption,
  type Machine,
  RESULT_SCHEMA_VERSION,
  type RunResult,
  type Segment,
  type TransportResult,
} from '../report/result-schema.js'
import {
  compileThresholds,
  createLiveJudge,
  scaleThresholds,
  type Thresholds,
} from '../report/thresholds.js'
import { failedTransportResult, runPassed } from '../report/transport-result.js'
import type { Executor, ExecutorRun } from './executors/executor.js'
import { EXECUTORS } from './executors/registry.js'
import { runHttpTransport } from './http-transport.js'
import type { StreamTransport } from './load-pool.js'
import { measureWindow } from './measure.js'
import { createInlinePool, createThreadPool, type PoolHandle } from './pool-handle.js'
import { createRunContext, type RunContext, type RunOptions, type Stage } from './run-context.js'
import { DEFAULT_RAMP_PER_SEC, type Scenario } from './scenario.js'
import { segmentMembers, segmentRate, segmentShare } from './segment.js'
import { createSession } from './session.js'
import { sourceAddresses, startTarget } from './target.js'
import { adapterFor, sourceOf } from './target-adapter.js'
import { pickWatchLists } from './watch-lists.js'

export type { RunOptions, RunProgress } from './run-context.js'

export interface RunOutcome {
  readonly result: RunResult
  /** Per measured transport, its merged latency histogram per interval: its HDR interval log. */
  readonly latencyIntervals: Readonly<Partial<Record<TransportName, readonly LatencyInterval[]>>>
}

/**
 * Runs a scenario: per transport (one after the other, each against a fresh embedded server or
 * the given URL) the scenario's executor ramps, warms up and measures; the result says what each
 * measured, and the latency intervals are what its HDR log holds.
 *
 * Aborting `options.signal` stops it wherever it is. Starting a target, a ramp or a warm-up is
 * given up (that transport has no result); a measurement stops and keeps what it measured; no
 * later transport starts; each target and the subscribers are stopped as after a normal run; the
 * result has `interrupted: true`, where the signal came, and the transports it left unmeasured,
 * and it does not pass. A signal after the last measurement (while its target stops) changes
 * nothing: the result is whole.
 */
export async function runScenario(scenario: Scenario, options: RunOptions): Promise<RunOutcome> {
  const executor = EXECUTORS[scenario.executor]
  const segment = options.segment
  if (segment !== undefined) checkSegment(scenario, executor, segment)
  const runId = options.runId ?? randomUUID()
  const startedAt = new Date()
  const transports: TransportResult[] = []
  const latencyIntervals: Partial<Record<TransportName, readonly LatencyInterval[]>> = {}
  const capacity: CapacityResult[] = []
  const signal = options.signal
  const context = createRunContext(options)
  const stage = context.stage
  let cutAt: Stage | undefined
  const onAbort = (): void => {
    cutAt ??= { ...stage }
  }
  if (signal?.aborted) onAbort()
  signal?.addEventListener('abort', onAbort, { once: true })
  const thresholds = thresholdsFor(scenario, executor, segment)
  const adapter = adapterFor(scenario)
  let abortedBy: RunResult['abortedBy']
  try {
    for (const transport of scenario.transports) {
      if (context.aborted()) break
      stage.transport = transport
      stage.phase = 'starting'
      let run: ExecutorRun | null
      try {
        run =
          transport === 'http'
            ? await runHttpTransport(scenario, context, thresholds)
            : await runStreamTransport(scenario, executor, transport, context, thresholds, (by) => {
                abortedBy = by
              })
      } catch (error) {
        // Whatever failed because the run was being stopped (a fetch or a server start given
        // up) is the interruption, not a crash.
        if (context.aborted()) continue
        // Nothing measured yet and a coded error (an unreachable target, a bad option): the run
        // could not start, and the error says why with its own exit code.
        if (transports.length === 0 && error instanceof TickstormError) throw error
        // A crash fails this transport, not the run's other results: they are kept, the next
        // transport runs, and the run fails with this one's cause.
        transports.push(
          failedTransportResult(transport, executor.peakSubscribers(scenario, segment), error),
        )
        latencyIntervals[transport] = [] // an HDR log with no intervals: every transport has one
        continue
      }
      if (run === null) continue
      transports.push(run.result)
      latencyIntervals[transport] = latencyIntervalsOf(run.merged)
      if (run.capacity) capacity.push(run.capacity)
      // k6's abortOnFail: the whole run stops, no later transport starts.
      if (abortedBy !== undefined) break
    }
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
  const measured = new Set(transports.map((transport) => transport.transport))
  const notMeasured = scenario.transports.filter((transport) => !measured.has(transport))
  // Cut while a transport's target stopped after its measurement: whole, unless more were to come.
  const interruption: Interruption | undefined =
    cutAt === undefined || (cutAt.phase === 'finishing' && notMeasured.length === 0)
      ? undefined
      : {
          signal: typeof signal?.reason === 'string' ? signal.reason : 'abort',
          transport: cutAt.transport,
          phase: cutAt.phase === 'finishing' ? 'between transports' : cutAt.phase,
          notMeasured,
        }
  const result: RunResult = {
    schemaVersion: RESULT_SCHEMA_VERSION,
    runId,
    scenario: {
      name: scenario.name,
      file: options.scenarioFile,
      parsed: JSON.parse(JSON.stringify(scenario)) as Record<string, unknown>,
    },
    machine: machine(),
    nodeVersion: process.version,
    commit: options.commit,
    startedAt: startedAt.toISOString(),
    endedAt: new Date().toISOString(),
    target: scenario.target === 'embedded' ? 'embedded' : scenario.target.url,
    targetKind: adapter.kind,
    source: sourceOf(scenario, adapter),
    channelsPerConnection: adapter.channelsPerConnection,
    ...(segment === undefined ? {} : { segment: { index: segment.index, count: segment.count } }),
    transports,
    ...(capacity.length > 0 ? { capacity } : {}),
    interrupted: interruption !== undefined,
    ...(interruption === undefined ? {} : { interruption }),
    ...(abortedBy === undefined ? {} : { abortedBy }),
    passed:
      interruption === undefined &&
      abortedBy === undefined &&
      runPassed(transports) &&
      capacity.every((c) => c.maxPassingSubscribers > 0),
  }
  return { result, latencyIntervals }
}

/**
 * A segment is one host's share of the load on ONE server, so the scenario must name that server
 * by URL; and some executors (a capacity search) cannot be shared among hosts.
 */
function checkSegment(scenario: Scenario, executor: Executor, segment: Segment): void {
  const flag = `--segment ${formatSegment(segment)}`
  const problem = (message: string): never => {
    throw new TickstormError(ERROR_CODES.USAGE, `${flag}: ${message}`, {
      details: { segment: formatSegment(segment), scenario: scenario.name },
    })
  }
  if (scenario.target === 'embedded') {
    problem(
      `scenario ${scenario.name} has an embedded target, so every harness host would start and measure a server of its own; segments share the load on one server: give the scenario target: { url: http://host:port } of that server`,
    )
  }
  if (executor.unsplittable !== null) problem(executor.unsplittable)
  if (sourceOf(scenario, adapterFor(scenario)) === 'harness') {
    problem(
      `scenario ${scenario.name} has source: harness, so every harness host would publish the whole market into the target; run its publisher on one host (no --segment)`,
    )
  }
  const peak = executor.peakSubscribers(scenario)
  if (segmentShare(peak, segment) === 0) {
    problem(
      `scenario ${scenario.name} has at most ${peak} subscriber(s), so share ${segment.index} of ${segment.count} would have none; use at most ${peak} segments`,
    )
  }
}

/**
 * A segment host judges its share: a deliveries rate or count (and `minDeliveriesPerSec`) is a
 * total over all subscribers, so it is scaled to this host's share of them (the other thresholds
 * are ratios and times, the same at any share). The verdict on the whole is the merged run's.
 */
function thresholdsFor(
  scenario: Scenario,
  executor: Executor,
  segment: Segment | undefined,
): Readonly<Thresholds> {
  if (segment === undefined) return scenario.thresholds
  const peak = executor.peakSubscribers(scenario)
  return scaleThresholds(scenario.thresholds, segmentShare(peak, segment) / peak)
}

/**
 * The run's context for one transport with its `abortOnFail` thresholds judging each report's
 * live window: one that fails aborts this context (the executor's measurement ends where it is,
 * as on a signal, and keeps what it measured) and says which threshold did it, when. The run's
 * own signal still stops it too; the stage is the run's.
 */
function judgedContext(
  context: RunContext,
  thresholds: Readonly<Thresholds>,
  transport: StreamTransport,
  onAbortedBy: (by: NonNullable<RunResult['abortedBy']>) => void,
): RunContext {
  const judge = createLiveJudge(compileThresholds(thresholds), transport)
  if (judge === null) return context
  const { options } = context
  const stop = new AbortController()
  const signal =
    options.signal === undefined ? stop.signal : AbortSignal.any([options.signal, stop.signal])
  const judged = createRunContext({
    ...options,
    signal,
    onProgress: (progress) => {
      const failure = progress.live === undefined ? null : judge.observe(progress.live)
      options.onProgress?.(progress)
      if (failure === null) return
      onAbortedBy({ transport, threshold: failure.threshold, atSec: failure.atSec })
      stop.abort('threshold')
    },
  })
  return { ...judged, stage: context.stage }
}

export function machine(): Machine {
  const cores = cpus()
  return {
    cpuModel: cores[0]?.model.trim() ?? 'unknown',
    cores: cores.length,
    memoryBytes: totalmem(),
    os: type(),
    kernel: release(),
  }
}

/**
 * One streaming transport: its target, the worker pools and their subscribers' watch-lists, then
 * the executor; null when interrupted before its measurement began.
 */
async function runStreamTransport(
  scenario: Scenario,
  executor: Executor,
  transport: StreamTransport,
  runContext: RunContext,
  thresholds: Readonly<Thresholds>,
  onAbortedBy: (by: NonNullable<RunResult['abortedBy']>) => void,
): Promise<ExecutorRun | null> {
  const context = judgedContext(runContext, thresholds, transport, onAbortedBy)
  const { options, stage } = context
  const retryMs = options.retryMs ?? 1000
  // The target answers to the run's signal only: after a threshold's abort it still says what it
  // sent (the loss of the window's end) and is stopped as after any run.
  const target = await startTarget(scenario, runContext, transport, retryMs)
  const { baseUrl, sampler, universe } = target
  const workerCount = resolveWorkers(scenario, options)
  const pools: PoolHandle[] = []
  try {
    const segment = options.segment
    // A segment's subscribers are its share of the whole scenario's, with the watch-lists those
    // subscribers would have had in a one-host run (the picks are seeded, so every host agrees).
    const all = pickWatchLists(
      universe,
      executor.peakSubscribers(scenario),
      scenario.subscribers.watchList,
    )
    const lists = segment ? segmentMembers(all, segment) : all
    const localAddresses = sourceAddresses(baseUrl, executor.peakSubscribers(scenario, segment))
    const wire = target.adapter.wire
    for (let w = 0; w < Math.max(1, workerCount); w++) {
      const poolOptions = {
        transport,
        workerId: w,
        baseUrl,
        retryMs,
        localAddresses,
        wire,
        universe,
      }
      pools.push(workerCount === 0 ? createInlinePool(poolOptions) : createThreadPool(poolOptions))
    }
    const connectRate = segment ? segmentRate(rampPerSec(scenario), segment) : rampPerSec(scenario)
    const session = createSession(pools, lists, connectRate, transport, context)
    // Memory before any subscriber: what a connection costs is measured from here.
    const baselineRss = sampler?.sample(Date.now())?.rssBytes ?? null
    const serverWatch = sampler === null ? null : { sampler, rssBytesBaseline: baselineRss }
    // Only a signal cuts the wait for the window's last events: a run a threshold aborted
    // still counts what was sent before its end as received or lost, not as lost in flight.
    const scope = { scenario, session, pools, target, serverWatch, aborted: runContext.aborted }
    return await executor.run({
      scenario,
      transport,
      segment,
      session,
      lists,
      stage,
      aborted: context.aborted,
      pause: context.pause,
      thresholds,
      measure: (window) => measureWindow(scope, window),
    })
  } finally {
    await Promise.all(pools.map((pool) => pool.close()))
    await target.stop()
  }
}

function rampPerSec(scenario: Scenario): number {
  const { rampPerSec, rampSec, count } = scenario.subscribers
  if (rampPerSec !== null) return rampPerSec
  if (rampSec !== null && rampSec > 0) return count / rampSec
  return DEFAULT_RAMP_PER_SEC
}

function resolveWorkers(scenario: Scenario, options: RunOptions): number {
  if (options.workers !== undefined) return options.workers
  return scenario.workers === 'auto' ? availableParallelism() : scenario.workers
}
