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
import { subscriberHeaders } from './subscriber-token.js'
import { startTarget } from './target.js'
import { requestPath, symbolsText } from './targets/wire-spec.js'
import { mergeWorkerReports } from './transport-metrics.js'
import { pickWatchLists } from './watch-lists.js'

export async function runHttpTransport(
  scenario: Scenario,
  context: RunContext,
  thresholds: Readonly<Thresholds>,
): Promise<Measured | null> {
  const { options, stage } = context
  const target = await startTarget(scenario, context, 'http', options.retryMs ?? 1000)
  const { baseUrl, sampler, universe } = target
  try {
    const [symbols] = pickWatchLists(universe, 1, scenario.subscribers.watchList)
    const baselineRss = sampler?.sample(Date.now())?.rssBytes ?? null
    const harness = startHarnessSampler()
    const segment = options.segment
    const count = scenario.subscribers.count
    const connections = segment === undefined ? count : segmentShare(count, segment)
    stage.phase = 'measuring'
    const wire = target.adapter.wire
    const listed = symbolsText(wire, symbols ?? null, universe)
    const load = runHttpLoad({
      baseUrl,
      connections,
      paths: (wire.http?.paths ?? []).map((path) =>
        requestPath(new URL(baseUrl), wire, path, { symbols: listed }),
      ),
      warmupSec: scenario.warmupSec,
      durationSec: scenario.durationSec,
      headers: subscriberHeaders(
        target.adapter.wire.headers,
        target.adapter.wire.token,
        symbols ?? null,
      ),
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
    await target.stop()
  }
}
