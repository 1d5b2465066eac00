/**
 * The versioned result of one run (`result.json`), the single source the console table, the HTML
 * report and `tickstorm compare` read. A reader checks `schemaVersion` first and refuses a file
 * it does not know with a coded error, rather than half-reading a newer shape.
 *
 * Units are in the names: latencies are integer µs (straight from the HDR histograms), rates per
 * second, sizes in bytes, CPU in % of ONE core (200 = two cores busy).
 */

import { encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js'
import { z } from 'zod'
import { ERROR_CODES, Problems, TickstormError } from '../errors.js'
import type {
  EventLoopDelaySummary,
  MergedMetrics,
  ProcessSummary,
  TransportName,
} from '../harness/metrics.js'
import type { Thresholds } from '../harness/scenario-schema.js'
import { addZodIssues } from '../zod-problems.js'
import { evaluateThresholds } from './thresholds.js'

/**
 * The version this tickstorm writes. 2 added `interrupted` and `interruption` (a run stopped by a
 * signal); nothing else changed, so version 1 files read as they are. An older tickstorm refuses a
 * version-2 file by its version, instead of half-reading an interrupted run as a whole one.
 */
export const RESULT_SCHEMA_VERSION = 2

/** The versions this tickstorm reads. */
export const READABLE_SCHEMA_VERSIONS: readonly number[] = [1, 2]

/** A result directory is missing, not ours, of another schema version, or fails validation. */
export const INVALID_RESULT = ERROR_CODES.INVALID_RESULT

const transportName = z.enum(['sse', 'longpoll', 'ws', 'eventsource', 'http'])
const count = z.number().int().min(0)
const nonNegative = z.number().min(0)

export const percentilesSchema = z.strictObject({
  p50: nonNegative,
  p90: nonNegative,
  p99: nonNegative,
  p999: nonNegative,
  max: nonNegative,
  mean: nonNegative,
  count,
})

/** One point of the HdrHistogram percentile distribution (the classic "nines" plot). */
export const distributionPointSchema = z.strictObject({
  percentile: z.number().min(0).max(100),
  valueUs: nonNegative,
})

export const intervalPointSchema = z.strictObject({
  /** Seconds since the measurement started (start of the interval). */
  tSec: z.number(),
  /** Events delivered in the interval, exactly (the rate below divides it by the span). */
  deliveries: count.optional(),
  deliveriesPerSec: nonNegative,
  p50Us: nonNegative,
  p99Us: nonNegative,
  connections: count,
  errors: count,
})

export const thresholdOutcomeSchema = z.strictObject({
  name: z.enum(['p99Ms', 'maxLossRatio', 'maxErrorRate', 'minDeliveriesPerSec']),
  limit: z.number(),
  actual: z.number(),
  passed: z.boolean(),
})

export const serverCostSchema = z.strictObject({
  cpuPercentAvg: nonNegative,
  cpuPercentMax: nonNegative,
  rssBytesMax: count,
  /** (peak RSS − RSS before any subscriber) / peak connections; null when unknown. */
  rssBytesPerConnection: nonNegative.nullable(),
})

export const harnessCostSchema = z.strictObject({
  cpuPercentAvg: nonNegative,
  cpuPercentMax: nonNegative,
  /** Cores the harness could use (its threads, at most the machine's cores). */
  cores: z.number().int().min(1),
  eventLoopDelayP99Us: nonNegative,
  eventLoopDelayMaxUs: nonNegative,
  /** Harness CPU time per delivered event: the cost of measuring. */
  cpuUsPerEvent: nonNegative.nullable(),
})

export const validitySchema = z.strictObject({
  valid: z.boolean(),
  invalidReasons: z.array(z.string()),
})

/**
 * A run's full histograms, HdrHistogram's compressed V2 encoding in base64 (what each `.hlog`
 * line carries). Percentiles cannot be added; histograms can: `tickstorm merge` adds these.
 */
export const histogramsSchema = z.strictObject({
  /** Latency over the whole measurement (the `.hlog` intervals, plus a last sliver < 1 interval). */
  latencyUs: z.string().min(1),
  connectTimeUs: z.string().min(1),
  recoveryUs: z.string().min(1),
})

export const transportResultSchema = z.strictObject({
  transport: transportName,
  subscribers: z.strictObject({ asked: count, connectedMax: count, connectedAtEnd: count }),
  measuredSec: nonNegative,
  latencyUs: percentilesSchema,
  latencyDistribution: z.array(distributionPointSchema),
  deliveries: count,
  deliveriesPerSec: nonNegative,
  /** Bytes received, framing included (absent in results written before `tickstorm merge`). */
  bytes: count.optional(),
  bytesPerSec: nonNegative,
  bytesPerEvent: nonNegative.nullable(),
  gaps: count,
  duplicates: count,
  outOfOrder: count,
  /** max(0, gaps − outOfOrder): missing events that never came. */
  lost: count,
  /** lost / (deliveries − duplicates + lost). */
  lossRatio: z.number().min(0).max(1),
  snapshots: count,
  resets: count,
  negativeLatencies: count,
  clampedLatencies: count,
  connects: count,
  connectTimeUs: percentilesSchema,
  errors: count,
  errorsByKind: z.record(z.string(), count),
  /** errors / (connects + errors): the share of sessions that ended badly. */
  errorRate: z.number().min(0).max(1),
  reconnects: count,
  recoveryUs: percentilesSchema,
  eventsRecoveredByReplay: count,
  server: serverCostSchema.nullable(),
  harness: harnessCostSchema,
  validity: validitySchema,
  timeSeries: z.array(intervalPointSchema),
  thresholds: z.array(thresholdOutcomeSchema),
  /** Faults the scenario injected during the measurement, in the order they fired. */
  faults: z
    .array(
      z.strictObject({
        atSec: nonNegative,
        kind: z.enum(['drop', 'stall', 'restart', 'storm']),
        fraction: z.number().min(0).max(1),
        /** What went wrong carrying the fault out, if anything. */
        note: z.string().optional(),
      }),
    )
    .optional(),
  /** Absent in results written before `tickstorm merge`, which needs them. */
  histograms: histogramsSchema.optional(),
})

export const capacityStepSchema = z.strictObject({
  subscribers: count,
  p99Us: nonNegative,
  lossRatio: z.number().min(0).max(1),
  errorRate: z.number().min(0).max(1),
  passed: z.boolean(),
})

export const capacityResultSchema = z.strictObject({
  transport: transportName,
  /** Largest subscriber count whose step passed every `breakOn` threshold; 0 if none did. */
  maxPassingSubscribers: count,
  curve: z.array(capacityStepSchema),
})

export const machineSchema = z.strictObject({
  cpuModel: z.string(),
  cores: z.number().int().min(1),
  memoryBytes: count,
  os: z.string(),
  kernel: z.string(),
})

/** One host's share of a scenario's workload (`tickstorm run --segment i/n`). */
export const segmentSchema = z
  .strictObject({ index: z.number().int().min(1), count: z.number().int().min(1) })
  .refine((segment) => segment.index <= segment.count, {
    error: 'index must be ≤ count',
  })

/** One of the runs a merged result was made from. */
export const mergedFromSchema = z.strictObject({
  /** The input directory, as given to `tickstorm merge`. */
  dir: z.string(),
  runId: z.string().min(1),
  /** Null for a run of the whole scenario, merged with `--force`. */
  segment: segmentSchema.nullable(),
  machine: machineSchema,
  nodeVersion: z.string(),
  commit: z.string(),
  startedAt: z.iso.datetime(),
  endedAt: z.iso.datetime(),
  passed: z.boolean(),
})

/** Where a run was when a signal stopped it. */
export const RUN_PHASES = [
  'starting',
  'ramp',
  'warm-up',
  'measuring',
  'between transports',
] as const

export type RunPhase = (typeof RUN_PHASES)[number]

export const interruptionSchema = z.strictObject({
  /** SIGINT (Ctrl-C), SIGTERM, SIGHUP. */
  signal: z.string().min(1),
  /** The transport under way when it came; null before the first one started. */
  transport: transportName.nullable(),
  phase: z.enum(RUN_PHASES),
  /** The scenario's transports with no result here: cut before their measurement began. */
  notMeasured: z.array(transportName),
})

export const runResultSchema = z
  .strictObject({
    schemaVersion: z.union([z.literal(1), z.literal(2)]),
    runId: z.string().min(1),
    scenario: z.strictObject({
      name: z.string(),
      file: z.string(),
      /** The scenario as parsed, defaults filled in. */
      parsed: z.record(z.string(), z.unknown()),
    }),
    machine: machineSchema,
    nodeVersion: z.string(),
    commit: z.string(),
    startedAt: z.iso.datetime(),
    endedAt: z.iso.datetime(),
    target: z.string(),
    /** This run was one host's share of the workload (`--segment`); absent: the whole of it. */
    segment: segmentSchema.optional(),
    /**
     * This result is `tickstorm merge` of these runs (several harness hosts on one target):
     * histograms added, counts summed, rates over the window they all measured.
     */
    mergedFrom: z.array(mergedFromSchema).min(2).optional(),
    transports: z.array(transportResultSchema),
    capacity: z.array(capacityResultSchema).optional(),
    /**
     * A signal stopped the run before it finished (schema version 2): `transports` holds what was
     * measured until then (the transport under way with its measurement so far), and it never passes.
     */
    interrupted: z.boolean().optional(),
    interruption: interruptionSchema.optional(),
    /** All thresholds of all transports passed (and every transport run was valid). */
    passed: z.boolean(),
  })
  .superRefine((result, context) => {
    const interrupted = result.interrupted === true
    if (interrupted !== (result.interruption !== undefined)) {
      context.addIssue({
        code: 'custom',
        path: ['interruption'],
        message: 'must be given exactly when interrupted is true',
        input: result.interruption,
      })
    }
    if (interrupted && result.passed) {
      context.addIssue({
        code: 'custom',
        path: ['passed'],
        message: 'must be false for an interrupted run',
        input: result.passed,
      })
    }
    if (result.schemaVersion < 2 && (result.interrupted !== undefined || result.interruption)) {
      context.addIssue({
        code: 'custom',
        path: ['schemaVersion'],
        message: 'must be 2 for a result that says whether it was interrupted',
        input: result.schemaVersion,
      })
    }
  })

export type Percentiles = z.infer<typeof percentilesSchema>
export type DistributionPoint = z.infer<typeof distributionPointSchema>
export type IntervalPoint = z.infer<typeof intervalPointSchema>
export type TransportResult = z.infer<typeof transportResultSchema>
export type CapacityStep = z.infer<typeof capacityStepSchema>
export type CapacityResult = z.infer<typeof capacityResultSchema>
export type Machine = z.infer<typeof machineSchema>
export type RunResult = z.infer<typeof runResultSchema>
export type ServerCost = z.infer<typeof serverCostSchema>
export type HarnessCost = z.infer<typeof harnessCostSchema>
export type Validity = z.infer<typeof validitySchema>
export type MergedFrom = z.infer<typeof mergedFromSchema>
export type Interruption = z.infer<typeof interruptionSchema>

/**
 * Validates a parsed result.json. The version is checked before the shape, so a newer file gets
 * "schema version 2 is newer than this tickstorm reads (1)" instead of a list of odd fields.
 */
export function validateRunResult(value: unknown, source = 'result.json'): RunResult {
  const version =
    typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)['schemaVersion']
      : undefined
  if (typeof version !== 'number' || !READABLE_SCHEMA_VERSIONS.includes(version)) {
    const readable = READABLE_SCHEMA_VERSIONS.join(' and ')
    const why =
      version === undefined
        ? 'has no schemaVersion: not a tickstorm result'
        : typeof version === 'number' && version > RESULT_SCHEMA_VERSION
          ? `has schemaVersion ${version}, newer than this tickstorm reads (${readable})`
          : `has schemaVersion ${JSON.stringify(version)}; this tickstorm reads ${readable}`
    throw new TickstormError(INVALID_RESULT, `${source} ${why}`, {
      details: { source, schemaVersion: version, problems: [why] },
    })
  }
  const parsed = runResultSchema.safeParse(value, { reportInput: true })
  if (!parsed.success) {
    const problems = new Problems()
    addZodIssues(problems, parsed.error.issues)
    throw new TickstormError(
      INVALID_RESULT,
      `${source} is not a valid tickstorm result:\n  - ${problems.list.join('\n  - ')}`,
      { details: { source, problems: [...problems.list] } },
    )
  }
  return parsed.data
}

// ---------------------------------------------------------------------------------------------
// From merged metrics to the result

/** Percentiles of a histogram, µs. An empty histogram gives zeros. */
export function percentilesOf(histogram: Histogram): Percentiles {
  if (histogram.totalCount === 0)
    return { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0, count: 0 }
  return {
    p50: histogram.getValueAtPercentile(50),
    p90: histogram.getValueAtPercentile(90),
    p99: histogram.getValueAtPercentile(99),
    p999: histogram.getValueAtPercentile(99.9),
    max: histogram.maxValue,
    mean: Math.round(histogram.mean * 1000) / 1000,
    count: histogram.totalCount,
  }
}

/**
 * The HdrHistogram percentile distribution on a "nines" grid: percentiles 1 − 10^−k for k from 0
 * in steps of `1/stepsPerNine`, up to the nines the sample count supports (p99.9 needs ≫ 1,000
 * samples), then the max at 100.
 */
export function percentileDistribution(
  histogram: Histogram,
  stepsPerNine = 10,
): DistributionPoint[] {
  const total = histogram.totalCount
  if (total === 0) return []
  const maxNines = Math.max(1, Math.min(6, Math.log10(total)))
  const points: DistributionPoint[] = []
  for (let step = 0; step <= Math.floor(maxNines * stepsPerNine); step++) {
    const percentile = 100 * (1 - 10 ** (-step / stepsPerNine))
    points.push({
      percentile: Math.round(percentile * 1e6) / 1e6,
      valueUs: histogram.getValueAtPercentile(percentile),
    })
  }
  points.push({ percentile: 100, valueUs: histogram.maxValue })
  return points
}

export interface ValidityInput {
  /** Harness CPU samples, % of one core, one per second, measurement period only. */
  readonly harnessCpuPercentSamples: readonly number[]
  /** Cores the harness could use. */
  readonly harnessCores: number
  /** Worst worker's event-loop delay over the measurement, or null if not monitored. */
  readonly eventLoopDelay: EventLoopDelaySummary | null
  readonly deliveries: number
  readonly negativeLatencies: number
  readonly clampedLatencies: number
}

export interface ValidityOptions {
  /** Share of the harness's cores counted as saturated. */
  readonly cpuSaturatedRatio: number
  /** Consecutive 1-s samples at or above it that make it sustained. */
  readonly cpuSustainedSamples: number
  /** Event-loop delay p99 bound, µs. */
  readonly maxEventLoopDelayP99Us: number
  /** Share of events that may arrive "before they were scheduled" (clock skew). */
  readonly maxNegativeLatencyRatio: number
}

export const DEFAULT_VALIDITY_OPTIONS: ValidityOptions = Object.freeze({
  cpuSaturatedRatio: 0.9,
  cpuSustainedSamples: 5,
  maxEventLoopDelayP99Us: 50_000,
  maxNegativeLatencyRatio: 0.001,
})

/**
 * Is the measurement the server's, or the harness's? A subscriber stamps receipt when its event
 * loop gets to the bytes, so a busy harness adds its own queueing to every latency it records and
 * would report it as the server's. The run is marked invalid (never silently reported) when:
 * - the harness process used ≥ `cpuSaturatedRatio` (90%) of its cores for `cpuSustainedSamples`
 *   (5) consecutive seconds: it had no headroom left, so receipt stamps were late (k6 asks for
 *   ≥ 20% idle; Artillery v1 warned at 80%; a short spike, e.g. the connect ramp, is allowed);
 * - a worker's event-loop delay p99 exceeded `maxEventLoopDelayP99Us` (50 ms): that delay lands
 *   directly on receipt times (the jHiccup argument) — at that size it dwarfs loopback latency;
 * - more than `maxNegativeLatencyRatio` of events arrived before their scheduled time: the two
 *   clocks disagree, so no latency from this run can be trusted (never clamped to 0);
 * - any latency was above the histogram's range (clamped), so the max and the tail are floors.
 */
export function judgeValidity(
  input: ValidityInput,
  options: Partial<ValidityOptions> = {},
): Validity {
  const opts = { ...DEFAULT_VALIDITY_OPTIONS, ...options }
  const reasons: string[] = []
  const saturatedAt = opts.cpuSaturatedRatio * input.harnessCores * 100
  let run = 0
  let longest = 0
  for (const sample of input.harnessCpuPercentSamples) {
    run = sample >= saturatedAt ? run + 1 : 0
    longest = Math.max(longest, run)
  }
  if (longest >= opts.cpuSustainedSamples) {
    reasons.push(
      `harness CPU was ≥ ${Math.round(opts.cpuSaturatedRatio * 100)}% of its ${input.harnessCores} core(s) for ${longest} s in a row: the harness, not the server, was saturated`,
    )
  }
  if (input.eventLoopDelay && input.eventLoopDelay.p99Us > opts.maxEventLoopDelayP99Us) {
    reasons.push(
      `harness event-loop delay p99 was ${formatMs(input.eventLoopDelay.p99Us)} (bound ${formatMs(opts.maxEventLoopDelayP99Us)}): receipt times were late by the harness's own lag`,
    )
  }
  if (
    input.deliveries > 0 &&
    input.negativeLatencies / input.deliveries > opts.maxNegativeLatencyRatio
  ) {
    reasons.push(
      `${input.negativeLatencies} of ${input.deliveries} events arrived before their scheduled time: the clocks disagree`,
    )
  }
  if (input.clampedLatencies > 0) {
    reasons.push(
      `${input.clampedLatencies} latencies exceeded the histogram's range and were clamped`,
    )
  }
  return { valid: reasons.length === 0, invalidReasons: reasons }
}

function formatMs(us: number): string {
  return `${(us / 1000).toFixed(1)} ms`
}

export interface TransportResultContext {
  readonly subscribersAsked: number
  /** Wall ms when the measurement started (the warm-up's end); time-series t = 0. */
  readonly measureStartMs: number
  readonly measuredSec: number
  /** The embedded server's /proc summary over the measurement, or null (a URL target). */
  readonly server: (ProcessSummary & { readonly rssBytesBaseline: number | null }) | null
  readonly harness: {
    readonly cpuPercentSamples: readonly number[]
    readonly cpuUs: number
    readonly cores: number
  }
  readonly thresholds?: Readonly<Thresholds>
  readonly validity?: Partial<ValidityOptions>
}

/** Turns one transport's merged metrics into its part of the result; percentiles from the merged histograms. */
export function buildTransportResult(
  merged: MergedMetrics,
  context: TransportResultContext,
): TransportResult {
  const c = merged.counters
  const seconds = context.measuredSec > 0 ? context.measuredSec : 0
  const lost = Math.max(0, c.gaps - c.outOfOrder)
  const expected = c.deliveries - c.duplicates + lost
  const connectedMax = merged.intervals.reduce(
    (max, interval) => Math.max(max, interval.connections),
    0,
  )
  const samples = context.harness.cpuPercentSamples
  const elp = merged.eventLoopDelay
  const server = context.server
  const result: TransportResult = {
    transport: merged.transport,
    subscribers: {
      asked: context.subscribersAsked,
      connectedMax: Math.max(connectedMax, merged.connections),
      connectedAtEnd: merged.connections,
    },
    measuredSec: seconds,
    latencyUs: percentilesOf(merged.latency),
    latencyDistribution: percentileDistribution(merged.latency),
    deliveries: c.deliveries,
    deliveriesPerSec: seconds > 0 ? c.deliveries / seconds : 0,
    bytes: c.bytes,
    bytesPerSec: seconds > 0 ? c.bytes / seconds : 0,
    bytesPerEvent: c.deliveries > 0 ? c.bytes / c.deliveries : null,
    gaps: c.gaps,
    duplicates: c.duplicates,
    outOfOrder: c.outOfOrder,
    lost,
    lossRatio: expected > 0 ? lost / expected : 0,
    snapshots: c.snapshots,
    resets: c.resets,
    negativeLatencies: c.negativeLatencies,
    clampedLatencies: c.clampedLatencies,
    connects: c.connects,
    connectTimeUs: percentilesOf(merged.connectTime),
    errors: c.errors,
    errorsByKind: { ...merged.errorsByKind },
    errorRate: c.connects + c.errors > 0 ? c.errors / (c.connects + c.errors) : 0,
    reconnects: c.reconnects,
    recoveryUs: percentilesOf(merged.recovery),
    eventsRecoveredByReplay: c.eventsRecoveredByReplay,
    server:
      server === null
        ? null
        : {
            cpuPercentAvg: server.cpuPercentAvg,
            cpuPercentMax: server.cpuPercentMax,
            rssBytesMax: server.rssBytesMax,
            rssBytesPerConnection:
              server.rssBytesBaseline !== null && connectedMax > 0
                ? Math.max(0, server.rssBytesMax - server.rssBytesBaseline) / connectedMax
                : null,
          },
    harness: {
      cpuPercentAvg: samples.length === 0 ? 0 : samples.reduce((a, b) => a + b, 0) / samples.length,
      cpuPercentMax: samples.length === 0 ? 0 : Math.max(...samples),
      cores: context.harness.cores,
      eventLoopDelayP99Us: elp?.p99Us ?? 0,
      eventLoopDelayMaxUs: elp?.maxUs ?? 0,
      cpuUsPerEvent: c.deliveries > 0 ? context.harness.cpuUs / c.deliveries : null,
    },
    validity: judgeValidity(
      {
        harnessCpuPercentSamples: samples,
        harnessCores: context.harness.cores,
        eventLoopDelay: elp,
        deliveries: c.deliveries,
        negativeLatencies: c.negativeLatencies,
        clampedLatencies: c.clampedLatencies,
      },
      context.validity,
    ),
    timeSeries: merged.intervals.map((interval) => {
      const spanSec = (interval.endMs - interval.startMs) / 1000 || merged.intervalMs / 1000
      const hasSamples = interval.latency.totalCount > 0
      return {
        tSec: (interval.startMs - context.measureStartMs) / 1000,
        deliveries: interval.counters.deliveries,
        deliveriesPerSec: interval.counters.deliveries / spanSec,
        p50Us: hasSamples ? interval.latency.getValueAtPercentile(50) : 0,
        p99Us: hasSamples ? interval.latency.getValueAtPercentile(99) : 0,
        connections: interval.connections,
        errors: interval.counters.errors,
      }
    }),
    thresholds: [],
    histograms: {
      latencyUs: encodeIntoCompressedBase64(merged.latency),
      connectTimeUs: encodeIntoCompressedBase64(merged.connectTime),
      recoveryUs: encodeIntoCompressedBase64(merged.recovery),
    },
  }
  if (context.thresholds) result.thresholds = evaluateThresholds(context.thresholds, result)
  return result
}

/** A run passes when every transport was valid and every threshold outcome passed. */
export function runPassed(transports: readonly TransportResult[]): boolean {
  return transports.every(
    (transport) =>
      transport.validity.valid && transport.thresholds.every((outcome) => outcome.passed),
  )
}

export type { TransportName }
