/**
 * `tickstorm merge`: several harness hosts ran one scenario against one target, each its share
 * (`tickstorm run --segment i/n`), and their result directories add up into one that `report`
 * and `compare` read like any other.
 *
 * What adds, and how:
 * - latency: HDR histograms are added, never percentiles averaged (the mean of two hosts' p99s is
 *   not the p99 of both): the totals from each result's full histograms, the intervals from each
 *   `.hlog`, aligned on the wall-clock grid exactly as one run aligns its worker threads
 *   (`mergeMetricParts`), so the merged `.hlog` is what one harness recording everything would
 *   have written;
 * - the figures of schema version 6 (recovery split, spread, staleness, any key of
 *   `extraHistograms`) likewise: their encoded histograms added, percentiles read from the sum
 *   (`addExtraFigures`); the spread so added is a lower bound (see MERGE_CAVEATS);
 * - counts (deliveries, bytes, gaps, duplicates, errors by kind, reconnects, …) are summed, the
 *   connection gauge and reconnects interval by interval;
 * - the target's CPU and memory over time are not kept: each host sampled a process of its own
 *   machine (`noteServerSeries`);
 * - rates are recomputed over the window every input was measuring (the merged intervals inside
 *   [latest first start, earliest last end]): a host that started early or ended late would
 *   otherwise lend its lone seconds to the fleet's rate;
 * - validity does not add: each host judged its own harness (its CPU, its event loop), so the
 *   merged run is invalid when any input was, and says which input and why.
 *
 * What is refused (every problem listed at once, TS_ERR_USAGE, exit 2): inputs of different
 * scenarios, targets or transports; an embedded target (each host had a server of its own); a
 * capacity search; a merged result as input; segments that overlap, are of different splits or
 * leave a share out; runs whose measurements never overlapped in time. Runs made without
 * `--segment` each carried the whole scenario: merging them is refused unless `force`, since the
 * target then carried n times the scenario's load (the merged run says so: it asks for the sum).
 */

import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { TickstormError } from '../errors.js'
import type { HlogInterval } from './hlog.js'
import type { UplotAssets } from './html.js'
import {
  DEFAULT_HISTOGRAM_SETTINGS,
  DEFAULT_INTERVAL_MS,
  decodeHistogram,
  emptyCounters,
  emptyHistogram,
  encodeHistogram,
  latencyIntervalsOf,
  type MetricsPart,
  mergeMetricParts,
  type TransportName,
} from './measurements.js'
import {
  checkInputs,
  EXTRA_FIGURE_PATHS,
  EXTRA_HISTOGRAM_KEYS,
  type ExtraHistogramKey,
  isRecord,
  labelOf,
  refuseIfAny,
} from './merge-checks.js'
import { type LoadedResult, readResultDir } from './read-result.js'
import {
  INVALID_RESULT,
  type Machine,
  type MergedFrom,
  RESULT_SCHEMA_VERSION,
  type RunResult,
  type TransportResult,
} from './result-schema.js'
import { evaluateThresholds, thresholdsSchema } from './thresholds.js'
import { buildTransportResult, percentilesOf, runPassed } from './transport-result.js'
import { resultDirName, writeResultDir } from './write-result.js'

export interface MergeOptions {
  /** The merged directory; default `<resultsDir>/<stamp>-<scenario>-merged`. */
  readonly outDir?: string
  /** Parent of the default `outDir` (default `results`). */
  readonly resultsDir?: string
  /**
   * Merge runs made without `--segment`: each carried the whole scenario, so together they put
   * n times its load on the target. Relaxes nothing else.
   */
  readonly force?: boolean
  readonly assets?: UplotAssets
}

export interface MergeOutcome {
  readonly result: RunResult
  readonly dir: string
  /** Things that make the merged run less telling without making it wrong. */
  readonly warnings: readonly string[]
}

export interface MergedRun {
  readonly result: RunResult
  readonly hlogs: Readonly<Partial<Record<TransportName, readonly HlogInterval[]>>>
  readonly warnings: readonly string[]
}

/** Under this share of the longest measurement measured by all at once, the merge warns. */
const MIN_SHARED_WINDOW_RATIO = 0.9

/** Reads every input, merges them and writes the merged result directory. */
export async function mergeResultDirs(
  dirs: readonly string[],
  options: MergeOptions = {},
): Promise<MergeOutcome> {
  const inputs = await readInputs(dirs)
  const merged = mergeResults(inputs, options)
  const dir =
    options.outDir ??
    join(
      options.resultsDir ?? 'results',
      resultDirName(new Date(merged.result.startedAt), `${merged.result.scenario.name}-merged`),
    )
  const problems: string[] = []
  if (dirs.some((input) => resolve(input) === resolve(dir))) {
    problems.push(`--out ${dir} is one of the inputs: the merge would overwrite it`)
  } else if (existsSync(join(dir, 'result.json'))) {
    problems.push(`${dir} already holds a result; give another --out (nothing is overwritten)`)
  }
  refuseIfAny(problems)
  await writeResultDir(
    dir,
    merged.result,
    merged.hlogs,
    options.assets ? { assets: options.assets } : {},
  )
  return { result: merged.result, dir, warnings: merged.warnings }
}

/** Every input read and validated; all unreadable ones reported together. */
async function readInputs(dirs: readonly string[]): Promise<LoadedResult[]> {
  const settled = await Promise.allSettled(dirs.map((dir) => readResultDir(dir)))
  const failures = settled.flatMap((outcome) =>
    outcome.status === 'rejected' ? [outcome.reason as unknown] : [],
  )
  if (failures.length > 0) {
    if (failures.length === 1) throw failures[0]
    const messages = failures.map((error) =>
      error instanceof Error ? error.message : String(error),
    )
    throw new TickstormError(
      INVALID_RESULT,
      `${failures.length} inputs cannot be read:\n  - ${messages.join('\n  - ')}`,
      {
        details: { problems: messages },
      },
    )
  }
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<LoadedResult>).value)
}

/** The pure core of `tickstorm merge`: checks the inputs, then adds them up. */
export function mergeResults(
  loaded: readonly LoadedResult[],
  options: Pick<MergeOptions, 'force'> = {},
): MergedRun {
  const problems: string[] = []
  if (loaded.length < 2) problems.push(`give at least two result directories, got ${loaded.length}`)
  refuseIfAny(problems)
  const inputs = [...loaded].sort(
    (a, b) =>
      (a.result.segment?.index ?? 0) - (b.result.segment?.index ?? 0) ||
      a.result.startedAt.localeCompare(b.result.startedAt),
  )
  checkInputs(inputs, options.force === true, problems)
  refuseIfAny(problems)

  const first = inputs[0]!.result
  const warnings: string[] = []
  const transports: TransportResult[] = []
  const hlogs: Partial<Record<TransportName, HlogInterval[]>> = {}
  for (const { transport } of first.transports) {
    const merged = mergeTransport(inputs, transport, problems, warnings)
    if (merged === null) continue
    transports.push(merged.result)
    hlogs[transport] = merged.hlog
  }
  refuseIfAny(problems)

  for (const [what, values] of [
    ['commits', inputs.map((input) => input.result.commit)],
    ['Node versions', inputs.map((input) => input.result.nodeVersion)],
  ] as const) {
    const distinct = [...new Set(values)]
    if (distinct.length > 1) {
      warnings.push(
        `the hosts ran different ${what} (${distinct.join(', ')}): they may not measure alike`,
      )
    }
  }
  const segmented = first.segment !== undefined
  if (!segmented) {
    warnings.push(
      `merged ${inputs.length} runs of the whole scenario (--force): the target carried ${inputs.length} times its load`,
    )
  }

  const mergedFrom: MergedFrom[] = inputs.map(({ dir, result }) => ({
    dir,
    runId: result.runId,
    segment: result.segment ?? null,
    machine: result.machine,
    nodeVersion: result.nodeVersion,
    commit: result.commit,
    startedAt: result.startedAt,
    endedAt: result.endedAt,
    passed: result.passed,
  }))
  const result: RunResult = {
    schemaVersion: RESULT_SCHEMA_VERSION,
    runId: randomUUID(),
    scenario: first.scenario,
    machine: fleetMachine(inputs.map((input) => input.result.machine)),
    nodeVersion: distinctJoined(inputs.map((input) => input.result.nodeVersion)),
    commit: distinctJoined(inputs.map((input) => input.result.commit)),
    startedAt: earliest(inputs.map((input) => input.result.startedAt)),
    endedAt: latest(inputs.map((input) => input.result.endedAt)),
    target: first.target,
    ...(first.targetKind === undefined
      ? {}
      : {
          targetKind: first.targetKind,
          ...(first.source === undefined ? {} : { source: first.source }),
          ...(first.channelsPerConnection === undefined
            ? {}
            : { channelsPerConnection: first.channelsPerConnection }),
        }),
    mergedFrom,
    transports,
    passed: runPassed(transports),
  }
  return { result, hlogs, warnings }
}

/** One input's transport as a part to merge: its full histograms, counts and intervals. */
function partOf(
  input: LoadedResult,
  transport: TransportResult,
  problems: string[],
): MetricsPart | null {
  const intervals = input.intervals.get(transport.transport) ?? []
  const points = transport.timeSeries
  if (intervals.length !== points.length || intervals.length === 0) {
    problems.push(
      `${labelOf(input)}: ${transport.transport}.hlog has ${intervals.length} intervals but result.json's time series ${points.length}${intervals.length === 0 ? ' (nothing was measured)' : ''}`,
    )
    return null
  }
  const histograms = transport.histograms!
  const latency = decodeHistogram(histograms.latencyUs)
  return {
    transport: transport.transport,
    // Every harness rolls 1-s intervals (the .hlog does not record the length it aimed at).
    intervalMs: DEFAULT_INTERVAL_MS,
    histogram: {
      // The histogram API does not expose it; every tickstorm histogram uses 1 µs.
      lowestUs: DEFAULT_HISTOGRAM_SETTINGS.lowestUs,
      highestUs: latency.highestTrackableValue,
      significantDigits: latency.numberOfSignificantValueDigits as 1 | 2 | 3 | 4 | 5,
    },
    startMs: intervals[0]!.startMs,
    latency,
    connectTime: decodeHistogram(histograms.connectTimeUs),
    recovery: decodeHistogram(histograms.recoveryUs),
    counters: {
      deliveries: transport.deliveries,
      bytes: transport.bytes ?? 0,
      gaps: transport.gaps,
      duplicates: transport.duplicates,
      outOfOrder: transport.outOfOrder,
      connects: transport.connects,
      errors: transport.errors,
      reconnects: transport.reconnects,
      eventsRecoveredByReplay: transport.eventsRecoveredByReplay,
      snapshots: transport.snapshots,
      resets: transport.resets,
      negativeLatencies: transport.negativeLatencies,
      clampedLatencies: transport.clampedLatencies,
    },
    errorsByKind: transport.errorsByKind,
    // Per interval the result keeps what the report plots and `over:` windows judge: latency,
    // deliveries, errors, reconnects (schema version 6; 0 before), connections.
    intervals: intervals.map((interval, k) => {
      const point = points[k]!
      return {
        startMs: interval.startMs,
        endMs: interval.endMs,
        latency: interval.histogram,
        counters: {
          ...emptyCounters(),
          deliveries: point.deliveries ?? 0,
          errors: point.errors,
          reconnects: point.reconnects ?? 0,
        },
        connections: point.connections,
      }
    }),
    connections: transport.subscribers.connectedAtEnd,
    // Harness costs are each host's own; they are combined below, not through the parts.
    eventLoopDelay: null,
  }
}

function mergeTransport(
  inputs: readonly LoadedResult[],
  name: TransportName,
  problems: string[],
  warnings: string[],
): { result: TransportResult; hlog: HlogInterval[] } | null {
  const entries = inputs.map((input) => ({
    input,
    transport: input.result.transports.find((t) => t.transport === name)!,
  }))
  const parts = entries.map(({ input, transport }) => partOf(input, transport, problems))
  if (parts.some((part) => part === null)) return null
  const merged = mergeMetricParts(parts as MetricsPart[])

  // The window all of them measured: from the last to start to the first to end.
  const spans = entries.map(({ input }) => {
    const intervals = input.intervals.get(name)!
    return { input, startMs: intervals[0]!.startMs, endMs: intervals.at(-1)!.endMs }
  })
  const windowStartMs = Math.max(...spans.map((span) => span.startMs))
  const windowEndMs = Math.min(...spans.map((span) => span.endMs))
  const shared = merged.intervals.filter(
    (interval) => interval.startMs >= windowStartMs && interval.endMs <= windowEndMs,
  )
  const sharedSec =
    shared.reduce((sum, interval) => sum + (interval.endMs - interval.startMs), 0) / 1000
  if (shared.length === 0 || sharedSec <= 0) {
    const when = spans
      .map((span) => `${labelOf(span.input)} ${iso(span.startMs)} → ${iso(span.endMs)}`)
      .join('; ')
    problems.push(
      `${name}: the measurements never overlapped for a whole interval, so their loads never met at the target (${when})`,
    )
    return null
  }
  const longestSec = Math.max(...spans.map((span) => (span.endMs - span.startMs) / 1000))
  if (sharedSec < MIN_SHARED_WINDOW_RATIO * longestSec) {
    warnings.push(
      `${name}: the hosts measured together for ${sharedSec.toFixed(1)} s of ${longestSec.toFixed(1)} s; the rest of the histograms saw less than the whole load (start the hosts closer together)`,
    )
  }

  const results = entries.map((entry) => entry.transport)
  const base = buildTransportResult(merged, {
    subscribersAsked: sum(results.map((t) => t.subscribers.asked)),
    measureStartMs: merged.startMs,
    measuredSec: sharedSec,
    // A URL target: no input sampled a server process.
    server: null,
    // Replaced below: each host's harness was judged on its own samples.
    harness: { cpuPercentSamples: [], cpuUs: 0, cores: 1 },
    // Validity does not add: the merged run is invalid when any input was, and says which.
    validity: {
      valid: results.every((t) => t.validity.valid),
      invalidReasons: entries.flatMap(({ input, transport }) =>
        transport.validity.invalidReasons.map((reason) => `${labelOf(input)}: ${reason}`),
      ),
    },
  })
  // Rates over the shared window only: what the fleet delivered while every host was measuring.
  const sharedDeliveries = sum(shared.map((interval) => interval.counters.deliveries))
  const deliveriesPerSec = sharedDeliveries / sharedSec
  const result: TransportResult = {
    ...base,
    deliveriesPerSec,
    // Bytes are not kept per interval; the fleet's bytes per event carry over to the window.
    bytesPerSec: base.bytesPerEvent === null ? 0 : deliveriesPerSec * base.bytesPerEvent,
    harness: fleetHarness(results),
  }
  addExtraFigures(result, entries, warnings)
  noteServerSeries(name, entries, warnings)
  const faults = mergeFaults(entries.map((entry) => entry.transport.faults ?? []))
  if (faults.length > 0) result.faults = faults
  // Each host counted its own subscribers' tail against the same heads: the tails add up.
  const bases = results.map((t) => t.lossCountedAgainst)
  if (bases.every((basis) => basis !== undefined)) {
    result.lossCountedAgainst = bases.every((basis) => basis === 'sent') ? 'sent' : 'gaps'
    if (result.lossCountedAgainst === 'sent')
      result.tailLost = sum(results.map((t) => t.tailLost ?? 0))
  }
  const thresholds = thresholdsSchema.safeParse(
    inputs[0]!.result.scenario.parsed['thresholds'] ?? {},
  )
  // `over:` windows read the fleet's merged intervals over the window every host measured.
  result.thresholds = thresholds.success
    ? evaluateThresholds(thresholds.data, result, { intervals: shared, startMs: windowStartMs })
    : []
  return { result, hlog: latencyIntervalsOf(merged) }
}

/** What a figure added across hosts means beyond what one host's figure meant. */
const MERGE_CAVEATS: Partial<Record<ExtraHistogramKey, string>> = {
  // Each host's spread runs from the first to the last receipt among its own subscribers; the
  // fleet's per event runs from the earliest host's first to the latest host's last, which no
  // host saw. The sum of the hosts' histograms is a lower bound that reads like the real thing.
  spreadUs:
    "the merged spread adds each host's spread over its own subscribers: no host saw the others' receipts, so the fleet's first → last receipt is at least this, and a spread threshold is judged on that lower bound",
}

interface HostTransport {
  readonly input: LoadedResult
  readonly transport: TransportResult
}

/**
 * The figures schema version 6 added (recovery split, spread, staleness, and any key
 * `extraHistograms` gains later), added up like latency: per key the hosts' encoded histograms
 * summed, the percentiles read from the sum and put where a run keeps them
 * (`EXTRA_FIGURE_PATHS`). Counts kept beside them (spread's `incomplete`, the watch-list
 * `changes`) count the hosts' own events, so they are summed too. A host without a key recorded
 * no sample of it (or ran a tickstorm that did not measure it): the figure is merged from the
 * hosts that have it, and a warning names the others.
 */
function addExtraFigures(
  result: TransportResult,
  entries: readonly HostTransport[],
  warnings: string[],
): void {
  const name = result.transport
  const fields = result as unknown as Record<string, unknown>
  const extra: Partial<Record<ExtraHistogramKey, string>> = {}
  const containers = new Set<string>()
  for (const key of EXTRA_HISTOGRAM_KEYS) {
    const holders = entries.filter(
      ({ transport }) => transport.extraHistograms?.[key] !== undefined,
    )
    if (holders.length === 0) continue
    const total = emptyHistogram()
    for (const { transport } of holders)
      total.add(decodeHistogram(transport.extraHistograms![key]!))
    extra[key] = encodeHistogram(total)
    const path = EXTRA_FIGURE_PATHS[key]
    if (path.length === 1) {
      fields[path[0]] = percentilesOf(total)
    } else {
      const [field, inner] = path
      const container = isRecord(fields[field]) ? fields[field] : {}
      container[inner] = percentilesOf(total)
      fields[field] = container
      containers.add(field)
    }
    const lacking = entries.filter((entry) => !holders.includes(entry))
    if (lacking.length > 0) {
      warnings.push(
        `${name}: ${path.join('.')} is merged from ${holders.map(({ input }) => labelOf(input)).join(', ')} only; ${lacking.map(({ input }) => labelOf(input)).join(', ')} recorded none (no sample of it, or a tickstorm that did not measure it)`,
      )
    }
    const caveat = MERGE_CAVEATS[key]
    if (caveat !== undefined && holders.length > 1) warnings.push(`${name}: ${caveat}`)
  }
  for (const field of containers) {
    const container = fields[field] as Record<string, unknown>
    for (const { transport } of entries) {
      const theirs = (transport as unknown as Record<string, unknown>)[field]
      if (!isRecord(theirs)) continue
      for (const [inner, value] of Object.entries(theirs)) {
        if (typeof value !== 'number' || isRecord(container[inner])) continue
        container[inner] = ((container[inner] as number | undefined) ?? 0) + value
      }
    }
  }
  if (Object.keys(extra).length > 0) result.extraHistograms = extra
}

/**
 * The target's CPU and memory over time are not merged. Each host sampled, by pid, a process of
 * its own machine: at most one of them is the target's, and a result cannot tell which (or
 * whether two hosts on one machine sampled the same process, whose series would then be one, not
 * a sum). The merged result keeps none; a warning says where they are.
 */
function noteServerSeries(
  name: TransportName,
  entries: readonly HostTransport[],
  warnings: string[],
): void {
  const sampled = entries.filter(
    ({ transport }) => transport.serverSeries !== undefined || transport.server !== null,
  )
  if (sampled.length === 0) return
  warnings.push(
    `${name}: the target's CPU and memory sampled by ${sampled.map(({ input }) => labelOf(input)).join(', ')} are not merged: each host sampled a process of its own machine by pid, and which one is the target's a result cannot tell; read them in those inputs`,
  )
}

/**
 * The hosts' harnesses together: CPU adds up (% of one core, over all their cores), the event
 * loop that lagged most is the one that counts, CPU per event is total CPU over total events.
 * The per-second CPU samples are not in a result, so the max is the sum of the hosts' maxima:
 * a bound, not a reading.
 */
function fleetHarness(results: readonly TransportResult[]): TransportResult['harness'] {
  const deliveries = sum(results.map((t) => t.deliveries))
  const cpuUs = results.map((t) => (t.harness.cpuUsPerEvent ?? 0) * t.deliveries)
  return {
    cpuPercentAvg: sum(results.map((t) => t.harness.cpuPercentAvg)),
    cpuPercentMax: sum(results.map((t) => t.harness.cpuPercentMax)),
    cores: sum(results.map((t) => t.harness.cores)),
    eventLoopDelayP99Us: Math.max(...results.map((t) => t.harness.eventLoopDelayP99Us)),
    eventLoopDelayMaxUs: Math.max(...results.map((t) => t.harness.eventLoopDelayMaxUs)),
    cpuUsPerEvent: deliveries > 0 ? sum(cpuUs) / deliveries : null,
  }
}

/** Every host fired the scenario's faults on its share: one entry per fault, notes kept. */
function mergeFaults(
  lists: readonly NonNullable<TransportResult['faults']>[],
): NonNullable<TransportResult['faults']> {
  const byKey = new Map<string, NonNullable<TransportResult['faults']>[number]>()
  for (const fault of lists.flat()) {
    const key = `${fault.atSec}|${fault.kind}|${fault.fraction}`
    const seen = byKey.get(key)
    if (seen === undefined) byKey.set(key, { ...fault })
    else if (fault.note !== undefined && seen.note !== fault.note) {
      seen.note = seen.note === undefined ? fault.note : `${seen.note}; ${fault.note}`
    }
  }
  return [...byKey.values()].sort((a, b) => a.atSec - b.atSec)
}

/** The harness hosts as one machine: their cores and memory add up, models and kernels listed. */
function fleetMachine(machines: readonly Machine[]): Machine {
  return {
    cpuModel: `${machines.length} hosts: ${distinctJoined(machines.map((m) => m.cpuModel))}`,
    cores: sum(machines.map((m) => m.cores)),
    memoryBytes: sum(machines.map((m) => m.memoryBytes)),
    os: distinctJoined(machines.map((m) => m.os)),
    kernel: distinctJoined(machines.map((m) => m.kernel)),
  }
}

function distinctJoined(values: readonly string[]): string {
  return [...new Set(values)].join(' / ')
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0)
}

function earliest(stamps: readonly string[]): string {
  return new Date(Math.min(...stamps.map((stamp) => Date.parse(stamp)))).toISOString()
}

function latest(stamps: readonly string[]): string {
  return new Date(Math.max(...stamps.map((stamp) => Date.parse(stamp)))).toISOString()
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}
