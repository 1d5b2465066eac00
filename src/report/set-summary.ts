/**
 * The summary `run --repeat` prints after its runs: per transport, each main figure's median
 * over the runs and how far they spread, so the noise a later `compare` will work with is on
 * screen before anyone compares anything. The figures are `compare`'s own (compare-figures.ts).
 */

import {
  COMPARED_METRIC_NAMES,
  type ComparedMetric,
  formatPercent,
  formatValue,
  measuredFigures,
} from './compare-figures.js'
import { formatTable, transportLabel } from './console.js'
import type { LoadedResult } from './read-result.js'

/** The figures worth a line: the max is one sample, p90 and p99.9 sit between those shown. */
const SUMMARY_METRICS: ReadonlySet<ComparedMetric> = new Set([
  'p50',
  'p99',
  'deliveries/s',
  'server CPU/delivery',
  'loss ratio',
  'error rate',
  'connect p99',
  'recovery p99',
])

export interface FigureSpread {
  readonly metric: ComparedMetric
  readonly runs: number
  readonly median: number
  readonly min: number
  readonly max: number
  /**
   * (max − min) / 2 / median: the ± band around the median the runs fall in, as a ratio (how
   * `--noise` is given); null when the median is 0.
   */
  readonly spreadRatio: number | null
}

function median(sorted: readonly number[]): number {
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

/** Per transport measured by some run, each summary figure over the runs that have it. */
export function setSpreads(runs: readonly LoadedResult[]): Map<string, FigureSpread[]> {
  const out = new Map<string, FigureSpread[]>()
  const transports = [
    ...new Set(runs.flatMap((run) => run.result.transports.map((t) => t.transport))),
  ]
  for (const transport of transports) {
    const values = new Map<ComparedMetric, number[]>()
    for (const run of runs) {
      const figures = measuredFigures(run, transport)
      if (figures === null) continue
      for (const [metric, value] of figures) {
        if (!SUMMARY_METRICS.has(metric)) continue
        values.set(metric, [...(values.get(metric) ?? []), value])
      }
    }
    const spreads: FigureSpread[] = []
    for (const metric of COMPARED_METRIC_NAMES) {
      const list = values.get(metric)
      if (list === undefined) continue
      const sorted = [...list].sort((a, b) => a - b)
      const mid = median(sorted)
      const min = sorted[0] as number
      const max = sorted.at(-1) as number
      spreads.push({
        metric,
        runs: sorted.length,
        median: mid,
        min,
        max,
        spreadRatio: mid === 0 ? null : (max - min) / 2 / mid,
      })
    }
    if (spreads.length > 0) out.set(transport, spreads)
  }
  return out
}

/** Per transport a table: figure, median, lowest, highest, and the ± band around the median. */
export function formatSetSummary(runs: readonly LoadedResult[]): string {
  const blocks: string[] = []
  for (const [transport, spreads] of setSpreads(runs)) {
    const measured = Math.max(...spreads.map((entry) => entry.runs))
    blocks.push(
      `${transportLabel(transport)} over ${measured} run${measured === 1 ? '' : 's'}\n\n${formatTable(
        ['metric', 'median', 'lowest', 'highest', 'spread'],
        spreads.map((entry) => [
          entry.metric,
          formatValue(entry.metric, entry.median),
          formatValue(entry.metric, entry.min),
          formatValue(entry.metric, entry.max),
          entry.spreadRatio === null ? 'n/a' : `±${formatPercent(entry.spreadRatio)}`,
        ]),
      )}`,
    )
  }
  return blocks.join('\n\n')
}
