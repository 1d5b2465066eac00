/**
 * What `tickstorm merge` refuses: runs that are not one workload split over hosts (other
 * scenarios, targets or transports; an embedded target; a capacity search; an interrupted or
 * merged run, or one with a failed transport; a run without the histograms a merge adds;
 * segments that overlap, differ in n or leave one out). Every problem is listed at once,
 * TS_ERR_USAGE.
 */

import { isDeepStrictEqual } from 'node:util'
import { ERROR_CODES, TickstormError } from '../errors.js'
import type { LoadedResult } from './read-result.js'
import { formatSegment, type RunResult, type TransportResult } from './result-schema.js'

/** A key of a transport's `extraHistograms` (`caughtUpUs`, `spreadUs`, …). */
export type ExtraHistogramKey = keyof NonNullable<TransportResult['extraHistograms']>

/** A place in a transport's result that holds percentiles: a field, or a field of a field. */
export type PercentilesPath = readonly [string] | readonly [string, string]

/**
 * Where a transport's result keeps the percentiles of each `extraHistograms` key (what
 * transport-result.ts writes from it). A Record over the schema's keys: a figure added to the
 * schema without its place here does not compile, so a merge cannot drop it silently.
 */
export const EXTRA_FIGURE_PATHS: Readonly<Record<ExtraHistogramKey, PercentilesPath>> = {
  reconnectedUs: ['recoverySplit', 'reconnectedUs'],
  caughtUpUs: ['recoverySplit', 'caughtUpUs'],
  firstNewUs: ['recoverySplit', 'firstNewUs'],
  spreadUs: ['spread', 'spreadUs'],
  stalenessUs: ['stalenessUs'],
  changeAcknowledgedUs: ['watchListChanges', 'acknowledgedUs'],
}

export const EXTRA_HISTOGRAM_KEYS = Object.keys(EXTRA_FIGURE_PATHS) as ExtraHistogramKey[]

/** Where `key`'s percentiles are in `transport`, or null when it holds none there. */
export function percentilesPathOf(
  transport: TransportResult,
  key: ExtraHistogramKey,
): PercentilesPath | null {
  const path = EXTRA_FIGURE_PATHS[key]
  const fields = transport as unknown as Record<string, unknown>
  const outer = fields[path[0]]
  const value = path.length === 1 ? outer : isRecord(outer) ? outer[path[1]] : undefined
  return value === undefined ? null : path
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function refuseIfAny(problems: readonly string[]): void {
  if (problems.length === 0) return
  throw new TickstormError(
    ERROR_CODES.USAGE,
    `cannot merge these runs:\n  - ${problems.join('\n  - ')}`,
    { details: { problems: [...problems] } },
  )
}

/** How an input is named in problems and reasons: its segment, if any, and its directory. */
export function labelOf(input: LoadedResult): string {
  const segment = input.result.segment
  return segment === undefined ? input.dir : `segment ${formatSegment(segment)} (${input.dir})`
}

/** The scenario as it shapes the load: where it was read from and the harness threads do not. */
function workloadOf(result: RunResult): Record<string, unknown> {
  const { file: _file, workers: _workers, ...workload } = result.scenario.parsed
  return workload
}

/** Everything that makes a set of runs not one workload split over hosts, as problems. */
export function checkInputs(
  inputs: readonly LoadedResult[],
  force: boolean,
  problems: string[],
): void {
  const first = inputs[0]!
  for (const input of inputs) {
    const { result } = input
    if (result.mergedFrom !== undefined) {
      problems.push(
        `${input.dir} is already a merge of ${result.mergedFrom.length} runs: merge its inputs (${result.mergedFrom.map((from) => from.dir).join(', ')}) instead`,
      )
    }
    if (result.capacity !== undefined) {
      problems.push(
        `${labelOf(input)} is a capacity search: each step was decided from one host's measurements, so steps of several hosts do not add up`,
      )
    }
    if (result.interrupted === true) {
      problems.push(
        `${labelOf(input)} was interrupted (${result.interruption?.signal ?? 'a signal'}): its share was not measured in full, so the sum would not be the workload's; run it again`,
      )
    }
    for (const transport of result.transports) {
      if (transport.failure !== undefined) {
        problems.push(
          `${labelOf(input)} has a failed ${transport.transport} run (${transport.failure.message.split('\n')[0]}): its share was not measured, so the sum would not be the workload's; run it again`,
        )
      }
    }
    if (result.target === 'embedded') {
      problems.push(
        `${labelOf(input)} ran against an embedded server, one of its own: only runs against one URL target add up (target: { url: … })`,
      )
    }
    const missing = result.transports.filter(
      (transport) =>
        transport.histograms === undefined ||
        transport.bytes === undefined ||
        transport.timeSeries.some((point) => point.deliveries === undefined),
    )
    if (missing.length > 0) {
      problems.push(
        `${labelOf(input)} was written by an older tickstorm, without the full histograms and counts a merge adds (${missing.map((t) => t.transport).join(', ')}): run it again`,
      )
    }
    // Percentiles cannot be added: a figure kept without its histogram would be merged from the
    // other hosts alone while claiming all of them.
    for (const transport of result.transports) {
      const bare = EXTRA_HISTOGRAM_KEYS.flatMap((key) => {
        const path = percentilesPathOf(transport, key)
        return path !== null && transport.extraHistograms?.[key] === undefined
          ? [path.join('.')]
          : []
      })
      if (bare.length > 0) {
        problems.push(
          `${labelOf(input)} has ${transport.transport} ${bare.join(', ')} without their histograms (extraHistograms), and percentiles cannot be added: run it again with this tickstorm`,
        )
      }
    }
    if (input === first) continue
    if (result.scenario.name !== first.result.scenario.name) {
      problems.push(
        `${labelOf(input)} is scenario ${result.scenario.name}, ${labelOf(first)} is ${first.result.scenario.name}`,
      )
    } else {
      const a = workloadOf(first.result)
      const b = workloadOf(result)
      const differing = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter(
        (key) => !isDeepStrictEqual(a[key], b[key]),
      )
      if (differing.length > 0) {
        problems.push(
          `${labelOf(input)} ran another version of scenario ${result.scenario.name} than ${labelOf(first)}: they differ in ${differing.join(', ')}`,
        )
      }
    }
    if (result.target !== first.result.target) {
      problems.push(
        `${labelOf(input)} measured ${result.target}, ${labelOf(first)} measured ${first.result.target}: one target only`,
      )
    }
    const transportsOf = (r: RunResult) => r.transports.map((t) => t.transport).join(', ')
    if (transportsOf(result) !== transportsOf(first.result)) {
      problems.push(
        `${labelOf(input)} has transports ${transportsOf(result)}, ${labelOf(first)} has ${transportsOf(first.result)}`,
      )
    }
  }
  // A merged input is reported above; its missing segment would only repeat it.
  checkSegments(
    inputs.filter((input) => input.result.mergedFrom === undefined),
    force,
    problems,
  )
}

/**
 * The segments must be one complete split: i/n for every i of one n, each once. Runs without a
 * segment carried the whole scenario each, and merge only when forced.
 */
function checkSegments(inputs: readonly LoadedResult[], force: boolean, problems: string[]): void {
  const whole = inputs.filter((input) => input.result.segment === undefined)
  const parts = inputs.filter((input) => input.result.segment !== undefined)
  if (parts.length === 0) {
    if (!force && whole.length > 1) {
      problems.push(
        `none of these runs was made with --segment: each carried the whole scenario, so together they put ${inputs.length} times its load on the target. Run each host with --segment i/${inputs.length}, or pass --force to merge them as they are (the merged run then asks for ${inputs.length} times the subscribers)`,
      )
    }
    return
  }
  if (whole.length > 0) {
    problems.push(
      `${whole.map((input) => input.dir).join(', ')} ran the whole scenario but ${parts.map(labelOf).join(', ')} only a segment of it: merge the segments of one split only`,
    )
  }
  const counts = [...new Set(parts.map((input) => input.result.segment!.count))]
  if (counts.length > 1) {
    problems.push(
      `the segments are of different splits (${parts.map(labelOf).join(', ')}): every host must run i/n with the same n`,
    )
    return
  }
  const count = counts[0]!
  for (let index = 1; index <= count; index++) {
    const holders = parts.filter((input) => input.result.segment!.index === index)
    if (holders.length > 1) {
      problems.push(
        `segment ${index}/${count} is given ${holders.length} times (${holders.map((input) => input.dir).join(', ')}): its subscribers would count twice`,
      )
    } else if (holders.length === 0) {
      problems.push(
        `segment ${index}/${count} is missing: without it the merged run lacks that share of the workload`,
      )
    }
  }
}
