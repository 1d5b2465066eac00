/**
 * The request/response endpoints under autocannon, folded into the same result shape. autocannon
 * gives its numbers only at the end, so an interrupted http transport keeps nothing.
 */

import type { Thresholds } from '../report/thresholds.js'
import { runHttpLoad } from './engines/http-engine.js'
import type { Measured } from './measure.js'
import { measuredResult } from './measure.js'
import { startHarnessSampler } from './process-sampler.js'
import type { RunContext } from './run-context.js'
import type { Scenario } from './scenario.js'
import { segmentShare } from './segment.js'
import { fetchUniverse, startTarget } from './target.js'
import { mergeWorkerReports } from './transport-metrics.js'
import { pickWatchLists } from './watch-lists.js'

export async function runHttpTransport(
  scenario: Scenario,
  context: RunContext,
  thresholds: Readonly<Thresholds>,
): Promise<Measured | null> {
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
    const segment = options.segment
    const count = scenario.subscribers.count
    const connections = segment === undefined ? count : segmentShare(count, segment)
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
    const result = measuredResult(merged, {
      subscribersAsked: connections,
      measureStartMs,
      harness: harness.stop(),
      serverWatch: sampler === null ? null : { sampler, rssBytesBaseline: baselineRss },
      thresholds,
    })
    return { result, merged }
  } finally {
    sampler?.stop()
    await server?.stop()
  }
}
