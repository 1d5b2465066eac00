/**
 * The versioned result of one run (`result.json`), the single source the console table, the HTML
 * report and `tickstorm compare` read. A reader checks `schemaVersion` first and refuses a file
 * it does not know with a coded error, rather than half-reading a newer shape.
 *
 * Units are in the names: latencies are integer µs (straight from the HDR histograms), rates per
 * second, sizes in bytes, CPU in % of ONE core (200 = two cores busy).
 */

import { z } from 'zod'
import { ERROR_CODES, Problems, TickstormError } from '../errors.js'
import { addZodIssues } from '../zod-problems.js'
import { TRANSPORT_NAMES } from './measurements.js'

/**
 * The version this tickstorm writes. 2 added `interrupted` and `interruption` (a run stopped by a
 * signal), 3 a transport's `arrivals` (executor arrival-rate), 4 a transport's `failure` (it
 * crashed; the run went on to the next), 5 the target's kind and event source, the channel cap,
 * and per transport what loss was counted against, the tail never received and the publisher's
 * figures; 6 thresholds as expressions (`p(99) < 100ms`, per metric, over windows, abortOnFail)
 * and the run a threshold aborted, recovery split in three, broadcast spread, staleness under
 * conflation, reconnects per interval and the server's CPU and memory over time; nothing else
 * changed, so older files read as they are. An older tickstorm refuses a
 * newer file by its version, instead of half-reading it.
 */
export const RESULT_SCHEMA_VERSION = 6

/** The versions this tickstorm reads. */
export const READABLE_SCHEMA_VERSIONS: readonly number[] = [1, 2, 3, 4, 5, 6]

/** A result directory is missing, not ours, of another schema version, or fails validation. */
export const INVALID_RESULT = ERROR_CODES.INVALID_RESULT

const transportName = z.enum(TRANSPORT_NAMES)
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
  /** Reconnections begun in the interval (schema version 6). */
  reconnects: count.optional(),
})

/** One sample of the target's process (tree) during the measurement (schema version 6). */
export const serverSamplePointSchema = z.strictObject({
  /** Seconds since the measurement started. */
  tSec: z.number(),
  /** CPU since the previous sample, % of one core. */
  cpuPercent: nonNegative,
  rssBytes: count,
})

export const thresholdOutcomeSchema = z.strictObject({
  /**
   * Up to version 5 one of `p99Ms`, `maxLossRatio`, `maxErrorRate`, `minDeliveriesPerSec`; from
   * version 6 the metric the expression judges (`latency`, `connect`, `recovery`, `loss`, …).
   */
  name: z.string().min(1),
  /** The threshold as written, e.g. `p(99) < 100ms` (version 6). */
  expression: z.string().min(1).optional(),
  /** The limit and the measured value, in the metric's unit (`unit`; ms for times). */
  limit: z.number(),
  actual: z.number(),
  unit: z.enum(['ms', 'ratio', 'perSec', 'count']).optional(),
  /** Judged over every window of this many seconds (version 6); `actual` is the worst window's. */
  overSec: z.number().positive().optional(),
  /** Where the worst window began, seconds since the measurement started. */
  worstWindowAtSec: z.number().min(0).optional(),
  /** The threshold may stop the run when it fails (version 6). */
  abortOnFail: z.boolean().optional(),
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

/** What executor arrival-rate did during the measurement (this host's share with a segment). */
export const arrivalsSchema = z.strictObject({
  ratePerSec: nonNegative,
  sessionSecMean: nonNegative,
  sessionDistribution: z.enum(['exponential', 'fixed']),
  maxSubscribers: count,
  seed: count,
  /** Arrivals drawn, started or dropped. */
  arrivals: count,
  /** Arrivals that found `maxSubscribers` in a session and were not started. */
  dropped: count,
  /** Sessions that ended: subscribers the harness closed at the end of their stay. */
  departures: count,
  /** Subscribers in a session, averaged over time (Little's law: ≈ rate × mean session). */
  activeMean: nonNegative,
  activeMax: count,
  /** In a session when the measurement started (arrived during the warm-up). */
  activeAtStart: count,
  /** In a session when it ended: activeAtStart + arrivals − dropped − departures. */
  activeAtEnd: count,
  /**
   * The watch-list changes asked of each subscriber (`arrivalRate.watchListChanges`): mean
   * seconds between one subscriber's changes, symbols replaced by each. Absent: none.
   */
  watchListChanges: z.strictObject({ everySec: nonNegative, swap: count }).optional(),
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
  /** Events skipped between events received, plus `tailLost` (the events after the last one received). */
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
  /**
   * Recovery after a drop, split in three (schema version 6), each µs from the drop:
   * `reconnectedUs` to the stream or socket answering, `caughtUpUs` to every event sent before
   * the reconnect having arrived, `firstNewUs` to the first event sent after it. (`recoveryUs`
   * stays: drop → first resumed event.)
   */
  recoverySplit: z
    .strictObject({
      reconnectedUs: percentilesSchema,
      caughtUpUs: percentilesSchema,
      firstNewUs: percentilesSchema,
    })
    .optional(),
  /**
   * Broadcast spread (schema version 6): per event, first receipt → last receipt across the
   * subscribers that should get it, µs. `incomplete`: events some of them never received.
   */
  spread: z.strictObject({ spreadUs: percentilesSchema, incomplete: count }).optional(),
  /**
   * Staleness under conflation (schema version 6): how old the value a conflated subscriber
   * held was when a newer one replaced it (receipt of the new − scheduled time of the old), µs.
   */
  stalenessUs: percentilesSchema.optional(),
  /**
   * Watch-list changes during the measurement (executor arrival-rate with
   * `watchListChanges`): how many the subscribers made, and per change the server acknowledged,
   * µs from the change to its acknowledgement (the WebSocket `subscribed` reply, the new
   * stream's response head, the first answer to the new poll, the new EventSource's `open`).
   */
  watchListChanges: z
    .strictObject({ changes: count, acknowledgedUs: percentilesSchema })
    .optional(),
  /** The target's CPU and memory over the measurement (schema version 6); absent: not sampled. */
  serverSeries: z.array(serverSamplePointSchema).optional(),
  /** The encoded histograms of the version 6 figures, for `tickstorm merge` (same encoding). */
  extraHistograms: z
    .strictObject({
      reconnectedUs: z.string().min(1).optional(),
      caughtUpUs: z.string().min(1).optional(),
      firstNewUs: z.string().min(1).optional(),
      spreadUs: z.string().min(1).optional(),
      stalenessUs: z.string().min(1).optional(),
      /** watchListChanges.acknowledgedUs's histogram. */
      changeAcknowledgedUs: z.string().min(1).optional(),
    })
    .optional(),
  /** Executor arrival-rate only (schema version 3). */
  arrivals: arrivalsSchema.optional(),
  /**
   * The transport's run crashed (schema version 4): why, and the error's code if it had one. Its
   * measurements are empty (what it measured before the crash is lost); the run fails.
   */
  failure: z.strictObject({ message: z.string(), code: z.string().optional() }).optional(),
  /**
   * What `lost` was counted against (schema version 5): `sent`, the target's last sequence per
   * symbol at the end (a tail never received is lost, in `tailLost`); `gaps`, only the holes in
   * what arrived (the target could not say what it sent).
   */
  lossCountedAgainst: z.enum(['sent', 'gaps']).optional(),
  /** Events sent that a subscriber never received after its last one (included in `lost`). */
  tailLost: count.optional(),
  /** The harness's publisher, with source: harness (schema version 5). */
  publisher: z
    .strictObject({
      /** Ticks the target acknowledged. */
      published: count,
      failed: count,
      errorsByKind: z.record(z.string(), count),
      /** Acknowledgement − scheduled time per publish request: the publish API's time, and the queue's. */
      lagUs: z.strictObject({ p50: nonNegative, p99: nonNegative, max: nonNegative }),
      /** How late the publisher's frames ran: the harness's own lag. */
      lateUs: z.strictObject({ p99: nonNegative, max: nonNegative }).optional(),
      /** It fell behind the market's schedule: the measurement is invalid. */
      behind: z.boolean(),
    })
    .optional(),
})

export const capacityStepSchema = z.strictObject({
  subscribers: count,
  p99Us: nonNegative,
  lossRatio: z.number().min(0).max(1),
  errorRate: z.number().min(0).max(1),
  passed: z.boolean(),
  /**
   * The step's `breakOn` thresholds judged (version 6): one judged `over:` windows has its worst
   * window, `worstWindowAtSec` counted from the step's start.
   */
  breakOn: z.array(thresholdOutcomeSchema).optional(),
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

/** One host's share of the workload: the `index`-th (1-based) of `count` equal shares. */
export interface Segment {
  readonly index: number
  readonly count: number
}

/** `2/3`, as `--segment` takes it. */
export function formatSegment(segment: Segment): string {
  return `${segment.index}/${segment.count}`
}

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
    schemaVersion: z.union([
      z.literal(1),
      z.literal(2),
      z.literal(3),
      z.literal(4),
      z.literal(5),
      z.literal(6),
    ]),
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
    /** The target's URL, or `embedded`. */
    target: z.string(),
    /** The target's adapter (schema version 5; older results measured tickstorm). */
    targetKind: z.enum(['tickstorm', 'nchan', 'pushpin', 'generic']).optional(),
    /** Where the events came from: the target's own, or the harness's publisher (version 5). */
    source: z.enum(['server', 'harness']).optional(),
    /** Channels (symbols) one connection may subscribe to on this target; null: no cap known. */
    channelsPerConnection: count.nullable().optional(),
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
    /**
     * A threshold with `abortOnFail` failed and stopped the run (schema version 6): which, on
     * which transport, and when (seconds since that transport's measurement started). The run
     * does not pass; what was measured until then is kept.
     */
    abortedBy: z
      .strictObject({
        transport: transportName,
        threshold: z.string().min(1),
        atSec: nonNegative,
      })
      .optional(),
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
    if (result.schemaVersion < 3 && result.transports.some((t) => t.arrivals !== undefined)) {
      context.addIssue({
        code: 'custom',
        path: ['schemaVersion'],
        message: 'must be 3 for a result with arrivals (executor arrival-rate)',
        input: result.schemaVersion,
      })
    }
    if (result.schemaVersion < 4 && result.transports.some((t) => t.failure !== undefined)) {
      context.addIssue({
        code: 'custom',
        path: ['schemaVersion'],
        message: 'must be 4 for a result with a failed transport',
        input: result.schemaVersion,
      })
    }
    if (
      result.schemaVersion < 5 &&
      (result.targetKind !== undefined ||
        result.transports.some((t) => t.lossCountedAgainst !== undefined))
    ) {
      context.addIssue({
        code: 'custom',
        path: ['schemaVersion'],
        message: 'must be 5 for a result that names its target kind or its loss basis',
        input: result.schemaVersion,
      })
    }
    if (
      result.schemaVersion < 6 &&
      (result.abortedBy !== undefined ||
        result.transports.some(
          (t) =>
            t.recoverySplit !== undefined || t.spread !== undefined || t.serverSeries !== undefined,
        ))
    ) {
      context.addIssue({
        code: 'custom',
        path: ['schemaVersion'],
        message:
          'must be 6 for a result with an abort, a recovery split, a spread or a server series',
        input: result.schemaVersion,
      })
    }
    if (result.abortedBy !== undefined && result.passed) {
      context.addIssue({
        code: 'custom',
        path: ['passed'],
        message: 'must be false for a run a threshold aborted',
        input: result.passed,
      })
    }
    if (result.passed && result.transports.some((t) => t.failure !== undefined)) {
      context.addIssue({
        code: 'custom',
        path: ['passed'],
        message: 'must be false for a run with a failed transport',
        input: result.passed,
      })
    }
  })

export type Percentiles = z.infer<typeof percentilesSchema>
export type DistributionPoint = z.infer<typeof distributionPointSchema>
export type TransportResult = z.infer<typeof transportResultSchema>
export type CapacityStep = z.infer<typeof capacityStepSchema>
export type CapacityResult = z.infer<typeof capacityResultSchema>
export type Machine = z.infer<typeof machineSchema>
export type RunResult = z.infer<typeof runResultSchema>
export type Validity = z.infer<typeof validitySchema>
export type MergedFrom = z.infer<typeof mergedFromSchema>
export type Interruption = z.infer<typeof interruptionSchema>
export type ArrivalsSummary = z.infer<typeof arrivalsSchema>

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
    const readable = `${READABLE_SCHEMA_VERSIONS.slice(0, -1).join(', ')} and ${READABLE_SCHEMA_VERSIONS.at(-1)}`
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
