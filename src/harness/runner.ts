import { randomUUID } from 'node:crypto'
import { availableParallelism, cpus, release, totalmem, type } from 'node:os'
import { join } from 'node:path'
import { ERROR_CODES, TickstormError } from '../errors.js'
import { hlogIntervalsOf } from '../report/hlog.js'
import {
  buildTransportResult,
  type CapacityResult,
  type CapacityStep,
  type Interruption,
  type Machine,
  RESULT_SCHEMA_VERSION,
  type RunPhase,
  type RunResult,
  runPassed,
  type TransportResult,
} from '../report/result-schema.js'
import { evaluateThresholds } from '../report/thresholds.js'
import { resultDirName, writeResultDir } from '../report/write-result.js'
import { startEmbeddedServer } from './embedded-target.js'
import { runHttpLoad } from './engines/http-engine.js'
import type { StreamTransport } from './load-pool.js'
import {
  createProcessSampler,
  type MergedMetrics,
  mergeWorkerReports,
  type TransportName,
  type WorkerReport,
} from './metrics.js'
import { createInlinePool, createThreadPool, type PoolHandle } from './pool-handle.js'
import { capacityStepCounts, DEFAULT_RAMP_PER_SEC, type Scenario } from './scenario.js'
import type { Thresholds } from './scenario-schema.js'
import {
  formatSegment,
  type Segment,
  segmentMembers,
  segmentRate,
  segmentShare,
} from './segment.js'
import { pickWatchLists } from './watch-lists.js'

export interface RunOptions {
  /** Path of `bin/tickstorm.js`, to start the embedded server. */
  readonly serverBin: string
  /** The scenario file's path, recorded in the result. */
  readonly scenarioFile: string
  /** Parent of the result directory (`results/`). */
  readonly resultsDir: string
  readonly commit: string
  /** Worker threads; 0 runs subscribers on this thread (tests, tiny runs). Default: the scenario's. */
  readonly workers?: number
  readonly onProgress?: (progress: RunProgress) => void
  /** Reconnection delay of the subscribers and of the embedded server's `retry:`. */
  readonly retryMs?: number
  /**
   * Called with each target's URL once it is up, before any subscriber (benchmarks add load), and
   * the embedded server's pid (null for a URL target).
   */
  readonly onTarget?: (
    url: string,
    target: { readonly transport: TransportName; readonly pid: number | null },
  ) => void
  /**
   * Aborting it (the CLI does on SIGINT/SIGTERM, with the signal's name as the reason) stops the
   * run where it is: the subscribers and the embedded server are stopped, what was measured so far
   * is written marked `interrupted`, and the run does not pass. See runScenario.
   */
  readonly signal?: AbortSignal
  /**
   * Run only this host's share of the workload (`--segment i/n`), for several harness hosts
   * against one URL target; their results combine with `tickstorm merge`.
   */
  readonly segment?: Segment
}

export interface RunProgress {
  readonly transport: TransportName
  readonly elapsedSec: number
  readonly totalSec: number
  readonly warmingUp: boolean
  readonly connected: number
  readonly subscribers: number
  readonly deliveriesPerSec: number
  readonly p99Us: number
  readonly errors: number
  /**
   * On the report that finds a waited ramp complete: seconds from handing its subscribers to the
   * pools to every one of them connected (polled every 25 ms; the harness's own start-up is not
   * in it). Null on every other report.
   */
  readonly allConnectedSec: number | null
}

export interface RunOutcome {
  readonly result: RunResult
  readonly dir: string
}

/** How long a ramp may overrun its plan before the run gives up on full connection. */
const RAMP_GRACE_SEC = 15
/** How often a waited ramp asks the pools how many are connected (reports stay at 250 ms). */
const RAMP_POLL_MS = 25
const RAMP_REPORT_MS = 250

/**
 * Where a run is, kept up to date as it goes so an interruption can say where it came:
 * `finishing` is after a transport's measurement is complete (its target being stopped).
 */
interface Stage {
  transport: TransportName | null
  phase: RunPhase | 'finishing'
}

/** What the transport runs share: the options, the abort signal, the stage. */
interface RunContext {
  readonly options: RunOptions
  readonly stage: Stage
  /** True once the run's signal fired. */
  readonly aborted: () => boolean
  /** Waits `ms`, or less when the run is aborted meanwhile. */
  readonly pause: (ms: number) => Promise<void>
}

/**
 * Runs a scenario: per transport (one after the other, each against a fresh embedded server or
 * the given URL) the workload is ramped up, warmed up, reset, measured and reported; the merged
 * result is written to `results/<stamp>-<name>/` (result.json, one .hlog per transport,
 * report.html).
 *
 * Aborting `options.signal` stops it wherever it is. Starting a target, a ramp or a warm-up is
 * given up (that transport has no result); a measurement stops and keeps what it measured; no
 * later transport starts; each target and the subscribers are stopped as after a normal run; the
 * result is written with `interrupted: true`, where the signal came, and the transports it left
 * unmeasured, and it does not pass. A signal after the last measurement (while its target stops
 * or the result is written) changes nothing: the result is whole.
 */
export async function runScenario(scenario: Scenario, options: RunOptions): Promise<RunOutcome> {
  const segment = options.segment
  if (segment !== undefined) checkSegment(scenario, segment)
  const startedAt = new Date()
  const transports: TransportResult[] = []
  const hlogs: Partial<Record<TransportName, ReturnType<typeof hlogIntervalsOf>>> = {}
  const capacity: CapacityResult[] = []
  const signal = options.signal
  const stage: Stage = { transport: null, phase: 'starting' }
  let cutAt: { transport: TransportName | null; phase: Stage['phase'] } | undefined
  const onAbort = (): void => {
    cutAt ??= { ...stage }
  }
  if (signal?.aborted) onAbort()
  signal?.addEventListener('abort', onAbort, { once: true })
  const context: RunContext = {
    options,
    stage,
    aborted: () => signal?.aborted === true,
    pause: (ms) => pause(ms, signal),
  }
  try {
    for (const transport of scenario.transports) {
      if (context.aborted()) break
      stage.transport = transport
      stage.phase = 'starting'
      let run: TransportRun | null
      try {
        run =
          transport === 'http'
            ? await runHttpTransport(scenario, context)
            : await runTransport(scenario, transport, context)
      } catch (error) {
        // Whatever failed because the run was being stopped (a fetch or a server start given
        // up) is the interruption, not a crash.
        if (!context.aborted()) throw error
        run = null
      }
      if (run === null) continue
      transports.push(run.result)
      hlogs[transport] = hlogIntervalsOf(run.merged)
      if (run.capacity) capacity.push(run.capacity)
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
    runId: randomUUID(),
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
    ...(segment === undefined ? {} : { segment: { index: segment.index, count: segment.count } }),
    transports,
    ...(capacity.length > 0 ? { capacity } : {}),
    interrupted: interruption !== undefined,
    ...(interruption === undefined ? {} : { interruption }),
    passed:
      interruption === undefined &&
      runPassed(transports) &&
      capacity.every((c) => c.maxPassingSubscribers > 0),
  }
  // A segment's directory says which share it holds: the inputs of a merge read apart at a glance.
  const dirName = segment ? `${scenario.name}-seg${segment.index}of${segment.count}` : scenario.name
  const dir = join(options.resultsDir, resultDirName(startedAt, dirName))
  await writeResultDir(dir, result, hlogs)
  return { result, dir }
}

/**
 * A segment is one host's share of the load on ONE server, so the scenario must name that server
 * by URL; and a capacity search decides each step from what it measured, which n hosts, each
 * seeing its share only, cannot do together.
 */
function checkSegment(scenario: Scenario, segment: Segment): void {
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
  if (scenario.executor === 'capacity') {
    problem(
      'executor capacity decides each step from what it measured, and each host sees only its share; run a capacity search from one host, or use executor constant or ramp',
    )
  }
  const peak = subscriberPlan(scenario).peak
  if (segmentShare(peak, segment) === 0) {
    problem(
      `scenario ${scenario.name} has at most ${peak} subscriber(s), so share ${segment.index} of ${segment.count} would have none; use at most ${peak} segments`,
    )
  }
}

/**
 * A segment host judges its share: `minDeliveriesPerSec` is a total over all subscribers, so it is
 * scaled to this host's share of them (the other thresholds are ratios and latencies, the same
 * at any share). The verdict on the whole is the merged run's.
 */
function thresholdsFor(scenario: Scenario, segment: Segment | undefined): Readonly<Thresholds> {
  const { minDeliveriesPerSec } = scenario.thresholds
  if (segment === undefined || minDeliveriesPerSec === undefined) return scenario.thresholds
  const peak = subscriberPlan(scenario).peak
  return {
    ...scenario.thresholds,
    minDeliveriesPerSec: (minDeliveriesPerSec * segmentShare(peak, segment)) / peak,
  }
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

/** Starts the scenario's target: a fresh embedded server, or nothing for a URL target. */
async function startTarget(
  scenario: Scenario,
  context: RunContext,
  transport: TransportName,
  retryMs: number,
) {
  const { options } = context
  const server =
    scenario.target === 'embedded'
      ? await startEmbeddedServer({
          bin: options.serverBin,
          preset: scenario.server?.preset ?? 'normal',
          seed: scenario.server?.seed ?? 1,
          frameMs: scenario.server?.frameMs ?? 5,
          speed: scenario.server?.speed ?? 1,
          symbols: scenario.server?.symbols,
          ratePerSec: scenario.server?.ratePerSec,
          retryMs,
          signal: options.signal,
        })
      : null
  const baseUrl = server?.url ?? (scenario.target as { url: string }).url
  const sampler = server ? createProcessSampler(server.pid) : null
  sampler?.start(1000)
  options.onTarget?.(baseUrl, { transport, pid: server?.pid ?? null })
  return { server, baseUrl, sampler }
}

type EmbeddedServerHandle = Awaited<ReturnType<typeof startEmbeddedServer>>

/**
 * The scenario's faults, fired at their times after the measurement starts: `drop` cuts a
 * fraction of the subscribers' connections (from the client side, as a network fault would),
 * `storm` cuts all of them at once, `stall` freezes the server process, `restart` kills it and
 * starts it again on the same port. How the subscribers recover is in the result: reconnects,
 * recovery time, events recovered by replay, loss and duplicates.
 */
function scheduleFaults(
  scenario: Scenario,
  pools: readonly PoolHandle[],
  server: EmbeddedServerHandle | null,
) {
  const applied: NonNullable<TransportResult['faults']> = []
  const timers = scenario.faults.map((fault) =>
    setTimeout(() => {
      applied.push({ atSec: fault.atSec, kind: fault.kind, fraction: fault.fraction })
      switch (fault.kind) {
        case 'drop':
          for (const pool of pools) pool.drop(fault.fraction)
          break
        case 'storm':
          for (const pool of pools) pool.drop(1)
          break
        case 'stall':
          server?.stall((fault.durationSec ?? 2) * 1000)
          break
        case 'restart': {
          if (server === null) break
          const record = applied[applied.length - 1]!
          crashAndRestart(server, pools).catch((error: unknown) => {
            record.note = `the server did not come back: ${(error as Error).message.split('\n').at(-1)}`
          })
          break
        }
      }
    }, fault.atSec * 1000),
  )
  return {
    applied,
    cancel() {
      for (const timer of timers) clearTimeout(timer)
    },
  }
}

/**
 * A crash as the subscribers see it: every connection gone, the server back empty (no ring, ids
 * restarting). The server is frozen first and the subscribers' connections are cut from their
 * side, so TIME_WAIT lands on the client side: uWebSockets.js listens without SO_REUSEADDR, and a
 * killed server whose own sockets sat in TIME_WAIT could not bind its port again for a minute.
 */
async function crashAndRestart(server: EmbeddedServerHandle, pools: readonly PoolHandle[]) {
  server.freeze()
  for (const pool of pools) pool.drop(1)
  await new Promise((resolve) => setTimeout(resolve, 100))
  await server.restart()
}

/**
 * The request/response endpoints under autocannon, folded into the same result shape. autocannon
 * gives its numbers only at the end, so an interrupted http transport keeps nothing.
 */
async function runHttpTransport(
  scenario: Scenario,
  context: RunContext,
): Promise<TransportRun | null> {
  const { options, stage } = context
  const { server, baseUrl, sampler } = await startTarget(
    scenario,
    context,
    'http',
    options.retryMs ?? 1000,
  )
  try {
    const universe = await fetchUniverse(baseUrl, options.signal)
    const [symbols] = pickWatchLists(universe, 1, scenario.subscribers.watchList)
    const baselineRss = sampler?.sample(Date.now())?.rssBytes ?? null
    const harness = startHarnessSampler()
    const connections = share(scenario.subscribers.count, options.segment)
    stage.phase = 'measuring'
    const load = runHttpLoad({
      baseUrl,
      connections,
      symbols: symbols ?? null,
      warmupSec: scenario.warmupSec,
      durationSec: scenario.durationSec,
    })
    const outcome = await Promise.race([load, context.pause(Number.POSITIVE_INFINITY)])
    if (outcome === undefined) {
      // Abandoned: it ends against a stopped server; its failure is no one's to hear.
      load.catch(() => {})
      harness.stop()
      return null
    }
    const { report, measureStartMs } = outcome
    stage.phase = 'finishing'
    const merged = mergeWorkerReports([report])
    const result = buildTransportResult(merged, {
      subscribersAsked: connections,
      measureStartMs,
      measuredSec: (Date.now() - measureStartMs) / 1000,
      server: sampler
        ? { ...sampler.summary(measureStartMs), rssBytesBaseline: baselineRss }
        : null,
      harness: harness.stop(),
      thresholds: thresholdsFor(scenario, options.segment),
    })
    return { result, merged }
  } finally {
    sampler?.stop()
    await server?.stop()
  }
}

interface TransportRun {
  readonly result: TransportResult
  readonly merged: MergedMetrics
  readonly capacity?: CapacityResult
}

/** One streaming transport; null when interrupted before its measurement began. */
async function runTransport(
  scenario: Scenario,
  transport: StreamTransport,
  context: RunContext,
): Promise<TransportRun | null> {
  const { options, stage } = context
  const retryMs = options.retryMs ?? 1000
  const {
    server,
    baseUrl,
    sampler: serverSampler,
  } = await startTarget(scenario, context, transport, retryMs)
  const workerCount = resolveWorkers(scenario, options)
  const pools: PoolHandle[] = []
  let faults: ReturnType<typeof scheduleFaults> | undefined
  try {
    const universe = await fetchUniverse(baseUrl, options.signal)
    const segment = options.segment
    const steps =
      scenario.executor === 'capacity'
        ? capacityStepCounts(scenario)
        : [subscriberPlan(scenario, segment).peak]
    // A segment's subscribers are its share of the whole scenario's, with the watch-lists those
    // subscribers would have had in a one-host run (the picks are seeded, so every host agrees).
    const all = pickWatchLists(
      universe,
      segment ? subscriberPlan(scenario).peak : Math.max(...steps),
      scenario.subscribers.watchList,
    )
    const lists = segment ? segmentMembers(all, segment) : all
    const localAddresses = sourceAddresses(baseUrl, Math.max(...steps))
    for (let w = 0; w < Math.max(1, workerCount); w++) {
      const poolOptions = { transport, workerId: w, baseUrl, retryMs, localAddresses }
      pools.push(workerCount === 0 ? createInlinePool(poolOptions) : createThreadPool(poolOptions))
    }
    const connectRate = segment ? segmentRate(rampPerSec(scenario), segment) : rampPerSec(scenario)
    const session = createSession(pools, lists, connectRate, transport, context)
    // Memory before any subscriber: what a connection costs is measured from here.
    const baselineRss = serverSampler?.sample(Date.now())?.rssBytes ?? null

    if (scenario.executor === 'capacity') {
      return await runCapacity(
        scenario,
        transport,
        session,
        steps,
        serverSampler,
        baselineRss,
        context,
      )
    }
    const plan = subscriberPlan(scenario, segment)
    session.totalSec = scenario.warmupSec + plan.measuredSec
    stage.phase = 'ramp'
    await session.rampTo(plan.initial, true)
    if (context.aborted()) return null
    stage.phase = 'warm-up'
    await session.warmUp(scenario.warmupSec)
    if (context.aborted()) return null
    session.reset()
    stage.phase = 'measuring'
    const measureStartMs = Date.now()
    const harness = startHarnessSampler()
    faults = scheduleFaults(scenario, pools, server)
    for (const phase of plan.phases) {
      if (context.aborted()) break
      await session.rampTo(phase.count, false, phase.rampSec)
      await session.hold(phase.durationSec - phase.rampSec)
    }
    faults.cancel()
    const merged = mergeWorkerReports(await session.reports())
    stage.phase = 'finishing'
    const measuredSec = (Date.now() - measureStartMs) / 1000
    const result = buildTransportResult(merged, {
      subscribersAsked: plan.peak,
      measureStartMs,
      measuredSec,
      server: serverSampler
        ? { ...serverSampler.summary(measureStartMs), rssBytesBaseline: baselineRss }
        : null,
      harness: harness.stop(),
      thresholds: thresholdsFor(scenario, segment),
    })
    if (faults.applied.length > 0) result.faults = faults.applied
    return { result, merged }
  } finally {
    // A fault still due must not fire at a stopped (or restarting) server.
    faults?.cancel()
    await Promise.all(pools.map((pool) => pool.close()))
    serverSampler?.stop()
    await server?.stop()
  }
}

async function runCapacity(
  scenario: Scenario,
  transport: StreamTransport,
  session: Session,
  steps: readonly number[],
  serverSampler: ReturnType<typeof createProcessSampler> | null,
  baselineRss: number | null,
  context: RunContext,
): Promise<TransportRun | null> {
  const { stage } = context
  const capacity = scenario.capacity!
  const curve: CapacityStep[] = []
  let best: { result: TransportResult; merged: MergedMetrics } | undefined
  let last: { result: TransportResult; merged: MergedMetrics } | undefined
  session.totalSec = steps.length * (capacity.stepDurationSec + 2) + scenario.warmupSec
  let maxPassing = 0
  for (const [index, count] of steps.entries()) {
    stage.phase = 'ramp'
    await session.rampTo(count, true)
    if (context.aborted()) break
    stage.phase = 'warm-up'
    await session.warmUp(index === 0 ? scenario.warmupSec : 1)
    if (context.aborted()) break
    session.reset()
    stage.phase = 'measuring'
    const measureStartMs = Date.now()
    const harness = startHarnessSampler()
    await session.hold(capacity.stepDurationSec)
    const merged = mergeWorkerReports(await session.reports())
    const result = buildTransportResult(merged, {
      subscribersAsked: count,
      measureStartMs,
      measuredSec: (Date.now() - measureStartMs) / 1000,
      server: serverSampler
        ? { ...serverSampler.summary(measureStartMs), rssBytesBaseline: baselineRss }
        : null,
      harness: harness.stop(),
      thresholds: scenario.thresholds,
    })
    if (context.aborted()) {
      // A step cut short says nothing about whether that many subscribers pass: off the curve,
      // though its measurement stands in for the transport's if no step finished.
      last ??= { result, merged }
      break
    }
    const outcomes = evaluateThresholds(capacity.breakOn, result)
    const passed = outcomes.every((outcome) => outcome.passed) && result.validity.valid
    curve.push({
      subscribers: count,
      p99Us: result.latencyUs.p99,
      lossRatio: result.lossRatio,
      errorRate: result.errorRate,
      passed,
    })
    last = { result, merged }
    if (!passed) break
    maxPassing = count
    best = last
  }
  stage.phase = 'finishing'
  const chosen = best ?? last
  if (chosen === undefined) return null
  return {
    ...chosen,
    capacity: { transport, maxPassingSubscribers: maxPassing, curve },
  }
}

interface PhasePlan {
  readonly count: number
  readonly rampSec: number
  readonly durationSec: number
}

/** This host's share of a subscriber count: all of it, or its segment's. */
function share(count: number, segment: Segment | undefined): number {
  return segment === undefined ? count : segmentShare(count, segment)
}

/**
 * The subscriber counts over time: one constant phase, or the scenario's phases; with a segment,
 * every count is this host's share of it.
 */
function subscriberPlan(
  scenario: Scenario,
  segment?: Segment,
): {
  initial: number
  peak: number
  measuredSec: number
  phases: PhasePlan[]
} {
  const initial = share(scenario.subscribers.count, segment)
  if (scenario.phases === undefined || scenario.executor === 'constant') {
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

function rampPerSec(scenario: Scenario): number {
  const { rampPerSec, rampSec, count } = scenario.subscribers
  if (rampPerSec !== null) return rampPerSec
  if (rampSec !== null && rampSec > 0) return count / rampSec
  return DEFAULT_RAMP_PER_SEC
}

/**
 * Loopback source addresses for many connections to one loopback target: each (source, target)
 * pair has ≈ 28k ephemeral ports, and sockets of earlier runs linger in TIME_WAIT, so large
 * runs spread over 127.0.0.1–127.0.0.N (all of 127/8 is loopback on Linux, nothing to set up).
 */
export function sourceAddresses(baseUrl: string, connections: number): string[] {
  const host = new URL(baseUrl).hostname
  if (connections <= 10_000 || !(host === '127.0.0.1' || host === 'localhost')) return []
  const count = Math.ceil(connections / 10_000) + 1
  return Array.from({ length: count }, (_, i) => `127.0.0.${i + 1}`)
}

function resolveWorkers(scenario: Scenario, options: RunOptions): number {
  if (options.workers !== undefined) return options.workers
  return scenario.workers === 'auto' ? availableParallelism() : scenario.workers
}

async function fetchUniverse(baseUrl: string, signal: AbortSignal | undefined): Promise<string[]> {
  let response: Response
  try {
    response = await fetch(`${baseUrl}/v1/symbols`, signal === undefined ? {} : { signal })
  } catch (cause) {
    if (signal?.aborted) throw cause
    const why = describeNetworkError(cause)
    throw new TickstormError(
      ERROR_CODES.TARGET_UNREACHABLE,
      `cannot reach the target ${baseUrl}: ${why} (is its server running?)`,
      { cause, details: { url: baseUrl, cause: why } },
    )
  }
  if (!response.ok) {
    throw new TickstormError(
      ERROR_CODES.INVALID_OPTIONS,
      `${baseUrl}/v1/symbols answered ${response.status}: the target must list its symbols`,
    )
  }
  const body = (await response.json()) as { symbols: { symbol: string }[] }
  return body.symbols.map((entry) => entry.symbol)
}

/**
 * What undici's "fetch failed" hides in its cause: `ECONNREFUSED 127.0.0.1:4000`,
 * `ENOTFOUND no.such.host`, one per address tried (localhost may be tried as ::1 and 127.0.0.1).
 */
export function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: unknown } | null)?.cause ?? error
  const parts = cause instanceof AggregateError ? cause.errors : [cause]
  const described = parts.map((part) => {
    const e = part as Partial<
      NodeJS.ErrnoException & { address: string; port: number; hostname: string }
    >
    if (typeof e.code !== 'string') return e instanceof Error ? e.message : String(e)
    const where =
      e.address !== undefined
        ? `${e.address}${e.port === undefined ? '' : `:${e.port}`}`
        : (e.hostname ?? '')
    return where === '' ? e.code : `${e.code} ${where}`
  })
  return [...new Set(described)].join(', ')
}

/** Waits `ms` (Infinity: until aborted); resolves early, with undefined, when `signal` aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<undefined> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(undefined)
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve(undefined)
    }
    const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** Harness CPU (all threads of this process), sampled once a second while measuring. */
function startHarnessSampler() {
  const samples: number[] = []
  const start = process.cpuUsage()
  let last = start
  let lastMs = Date.now()
  const timer = setInterval(() => {
    const now = process.cpuUsage()
    const nowMs = Date.now()
    const usedUs = now.user - last.user + (now.system - last.system)
    samples.push((usedUs / 1000 / Math.max(1, nowMs - lastMs)) * 100)
    last = now
    lastMs = nowMs
  }, 1000)
  return {
    stop() {
      clearInterval(timer)
      const end = process.cpuUsage(start)
      return {
        cpuPercentSamples: samples,
        cpuUs: end.user + end.system,
        cores: availableParallelism(),
      }
    },
  }
}

interface Session {
  totalSec: number
  rampTo(count: number, waitForConnections: boolean, rampSec?: number): Promise<void>
  warmUp(seconds: number): Promise<void>
  hold(seconds: number): Promise<void>
  reset(): void
  reports(): Promise<WorkerReport[]>
}

/** Drives the pools: who connects when, the clock of the run, and the progress reports. */
function createSession(
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

  const progress = async () => {
    const parts = await Promise.all(pools.map((pool) => pool.progress()))
    return {
      connected: parts.reduce((sum, part) => sum + part.connections, 0),
      deliveries: parts.reduce((sum, part) => sum + part.deliveries, 0),
      errors: parts.reduce((sum, part) => sum + part.errors, 0),
      p99Us: Math.max(0, ...parts.map((part) => part.p99Us)),
    }
  }

  const tick = async (session: Session): Promise<number> => {
    const now = await progress()
    report(session, now, null)
    return now.connected
  }

  const report = (
    session: Session,
    now: Awaited<ReturnType<typeof progress>>,
    allConnectedSec: number | null,
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
    })
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
        for (const [w, pool] of pools.entries()) {
          pool.add(
            add.filter((entry) => entry.index % pools.length === w),
            rate / pools.length,
          )
        }
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
            report(session, now, null)
            reportedMs = nowMs
          }
          if (nowMs > deadline) {
            throw new TickstormError(
              ERROR_CODES.LISTEN_FAILED,
              `only ${connected} of ${count} ${transport} subscribers connected within ${Math.ceil(planned + RAMP_GRACE_SEC)} s`,
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
    reset() {
      for (const pool of pools) pool.reset()
      warmingUp = false
    },
    reports() {
      return Promise.all(pools.map((pool) => pool.report()))
    },
  }
  return session
}
