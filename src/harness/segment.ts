/**
 * Execution segments (k6's idea, in its simplest form: n equal parts): `--segment i/n` runs the
 * i-th of n shares of a scenario's workload, so n harness hosts together put exactly the
 * scenario on one target, and `tickstorm merge` adds their results back into one.
 *
 * Subscribers are dealt out like cards: subscriber k (0-based, in the order the scenario creates
 * them) belongs to segment (k mod n) + 1. That gives three properties a proportional rounding
 * (round(N × i/n) − round(N × (i−1)/n)) gives only in part:
 * - the n shares of any count N sum to N exactly (1000 over 3 hosts: 334 + 333 + 333);
 * - the split is nested: who owns subscriber k does not depend on N, so a phase that ramps from
 *   1000 to 2000 adds to each host exactly its share of the new 1000, and each host's subscribers
 *   carry the very watch-lists the one-host run would have given them;
 * - shares differ by at most one, so each host takes 1/n of every rate (connects per second).
 * k6 needs a striping sequence because its segments may be uneven fractions; equal parts do not.
 */

import { ERROR_CODES, TickstormError } from '../errors.js'
import type { Segment } from '../report/result-schema.js'

/** More hosts than this is a typo, not a test rig. */
export const MAX_SEGMENTS = 1000

/** Parses `i/n` (1 ≤ i ≤ n ≤ 1000); anything else is a usage error that says what was wrong. */
export function parseSegment(text: string): Segment {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text)
  const fail = (why: string): never => {
    throw new TickstormError(
      ERROR_CODES.USAGE,
      `--segment must be i/n, this host's share i of n equal shares (e.g. 2/3): ${why}, got ${JSON.stringify(text)}`,
      { details: { segment: text, problems: [why] } },
    )
  }
  if (match === null) return fail('not two whole numbers joined by /')
  const index = Number(match[1])
  const count = Number(match[2])
  if (count < 1 || count > MAX_SEGMENTS) return fail(`n must be from 1 to ${MAX_SEGMENTS}`)
  if (index < 1 || index > count) return fail(`i must be from 1 to n (${count})`)
  return Object.freeze({ index, count })
}

/** How many of the first `total` subscribers belong to the segment. */
export function segmentShare(total: number, segment: Segment): number {
  return Math.floor(total / segment.count) + (segment.index <= total % segment.count ? 1 : 0)
}

/** The segment's items, in order: those at positions k with k mod n = i − 1. */
export function segmentMembers<T>(items: readonly T[], segment: Segment): T[] {
  return items.filter((_, k) => k % segment.count === segment.index - 1)
}

/** The segment's share of a rate (connects per second): 1/n of it, so the n shares sum to it. */
export function segmentRate(ratePerSec: number, segment: Segment): number {
  return ratePerSec / segment.count
}
