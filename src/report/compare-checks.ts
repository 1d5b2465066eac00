/**
 * What makes two runs not comparable: they did not carry the same workload. A 300-subscriber run
 * compared with a 1,000-subscriber one reads as a −73.7 % "regression" of deliveries/s that is
 * only the load; so `compare` lists every difference in what was asked of the target (the
 * scenario as parsed, less what only names, describes or judges it), where it ran and what each
 * transport measured, and refuses them with TS_ERR_USAGE unless forced. The scenario's name is
 * not part of the workload: a renamed scenario with the same load compares.
 */

import { isDeepStrictEqual } from 'node:util'
import { ERROR_CODES, TickstormError } from '../errors.js'
import type { LoadedResult } from './read-result.js'
import { formatSegment, type RunResult } from './result-schema.js'

/** Scenario keys that name, describe or judge the run, or say how many harness threads ran it. */
const NOT_WORKLOAD: ReadonlySet<string> = new Set([
  'name',
  'description',
  'file',
  'workers',
  'thresholds',
  'target',
])

/**
 * Target keys that are not load: its URL and kind are compared from the result itself; `pid` and
 * `command` say how the server under test was found or started (the very thing a comparison of
 * two builds changes); headers, cookies, query and auth say who the subscribers are and may hold
 * credentials, which a difference listing would print.
 */
const TARGET_NOT_WORKLOAD: ReadonlySet<string> = new Set([
  'url',
  'kind',
  'pid',
  'command',
  'headers',
  'cookies',
  'query',
  'auth',
])

/**
 * How far the measured windows may differ before they count as different durations: one second,
 * or 5 % of the longer, whichever is more (a window ends on the interval after the deadline, and
 * a ramp that connects a little slower starts the measurement a little later).
 */
const MEASURED_SEC_SLACK = { sec: 1, ratio: 0.05 } as const

const SHOWN_CHARS = 120

/** A value as a difference shows it: absent and null alike are "none". */
function show(value: unknown): string {
  if (value === undefined || value === null) return 'none'
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return text.length > SHOWN_CHARS ? `${text.slice(0, SHOWN_CHARS - 1)}…` : text
}

/** What the two sides are called in a difference: two runs compared, or two runs of one set. */
export interface Sides {
  readonly first: string
  readonly second: string
}

const COMPARED: Sides = { first: 'baseline', second: 'candidate' }

function difference(what: string, baseline: unknown, candidate: unknown, sides: Sides): string {
  return `${what}: ${sides.first} has ${show(baseline)}, ${sides.second} has ${show(candidate)}`
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Every leaf where two parsed values differ, by its dotted path (`subscribers.watchList.size`);
 * arrays (transports, phases, faults) are shown whole, their order being part of the workload.
 */
function diffTree(
  path: string,
  baseline: unknown,
  candidate: unknown,
  skip: ReadonlySet<string>,
  out: string[],
  sides: Sides,
): void {
  if (isDeepStrictEqual(baseline ?? null, candidate ?? null)) return
  if (isRecord(baseline) && isRecord(candidate)) {
    for (const key of new Set([...Object.keys(baseline), ...Object.keys(candidate)])) {
      if (skip.has(key)) continue
      const at = path === '' ? key : `${path}.${key}`
      diffTree(at, baseline[key], candidate[key], new Set(), out, sides)
    }
    return
  }
  out.push(difference(path, baseline, candidate, sides))
}

/** A parsed target's options other than its URL, kind, process and credentials. */
function targetOptions(parsed: Record<string, unknown>): unknown {
  return isRecord(parsed['target']) ? parsed['target'] : {}
}

function share(result: RunResult): string {
  return result.segment === undefined
    ? 'the whole workload'
    : `segment ${formatSegment(result.segment)}`
}

/**
 * Everything in which the two runs' workloads differ, as "<what>: baseline has X, candidate has
 * Y" (or the sides given); empty when they carried the same one.
 */
export function workloadDifferences(
  baseline: LoadedResult,
  candidate: LoadedResult,
  sides: Sides = COMPARED,
): string[] {
  const a = baseline.result
  const b = candidate.result
  const out: string[] = []
  const pairs: readonly [string, unknown, unknown][] = [
    ['target', a.target, b.target],
    // Results before schema 5 measured tickstorm with its own events.
    ['target kind', a.targetKind ?? 'tickstorm', b.targetKind ?? 'tickstorm'],
    ['event source', a.source ?? 'server', b.source ?? 'server'],
    ['share', share(a), share(b)],
  ]
  for (const [what, x, y] of pairs) if (x !== y) out.push(difference(what, x, y, sides))
  diffTree('', a.scenario.parsed, b.scenario.parsed, NOT_WORKLOAD, out, sides)
  const targetDifferences: string[] = []
  diffTree(
    'target',
    targetOptions(a.scenario.parsed),
    targetOptions(b.scenario.parsed),
    TARGET_NOT_WORKLOAD,
    targetDifferences,
    sides,
  )
  out.push(...targetDifferences)
  const candidateTransports = new Map(b.transports.map((t) => [t.transport, t]))
  for (const base of a.transports) {
    const cand = candidateTransports.get(base.transport)
    if (cand === undefined) continue
    if (base.subscribers.asked !== cand.subscribers.asked) {
      out.push(
        difference(
          `${base.transport} subscribers asked`,
          base.subscribers.asked,
          cand.subscribers.asked,
          sides,
        ),
      )
    }
    const slack = Math.max(
      MEASURED_SEC_SLACK.sec,
      MEASURED_SEC_SLACK.ratio * Math.max(base.measuredSec, cand.measuredSec),
    )
    if (Math.abs(base.measuredSec - cand.measuredSec) > slack) {
      out.push(
        difference(
          `${base.transport} seconds measured`,
          base.measuredSec.toFixed(1),
          cand.measuredSec.toFixed(1),
          sides,
        ),
      )
    }
  }
  return out
}

/**
 * How the runs of one set differ from its first run: a set is evidence of noise only when every
 * run carried the same workload (else its spread is partly the load's). Each difference names
 * the set and the two runs (`baseline set: subscribers.count: run-1 has 300, run-3 has 1000`).
 */
export function setWorkloadDifferences(
  which: string,
  runs: readonly LoadedResult[],
  nameOf: (run: LoadedResult) => string,
): string[] {
  const [first, ...rest] = runs
  if (first === undefined) return []
  return rest.flatMap((run) =>
    workloadDifferences(first, run, { first: nameOf(first), second: nameOf(run) }).map(
      (entry) => `${which} set: ${entry}`,
    ),
  )
}

/** The heading of the list of differences, in the refusal and in a forced comparison alike. */
export const DIFFERENT_WORKLOAD = 'these runs did not carry the same workload:'

/** Refuses a comparison of different workloads, every difference listed (TS_ERR_USAGE, exit 2). */
export function refuseDifferentWorkloads(differences: readonly string[]): void {
  if (differences.length === 0) return
  throw new TickstormError(
    ERROR_CODES.USAGE,
    `cannot compare: ${DIFFERENT_WORKLOAD}\n  - ${differences.join('\n  - ')}\nA change between them would be the load's, not the server's. Run both with one scenario, or pass --force to compare them anyway.`,
    { details: { problems: [...differences] } },
  )
}
