/**
 * One run of the peers benchmark against one target, reduced to the fan-out benchmark's row. The
 * server's cost is the harness's own reading (`result.server`: its sampler over the target's
 * process tree from the start of the measured window), so tickstorm, nginx with nchan and
 * Pushpin's five processes are read the same way.
 */

import { cpus } from 'node:os'
import { runScenario } from '../../src/harness/runner.js'
import { parseScenario } from '../../src/harness/scenario.js'
import { type Row, round, rowOf, SERVER_BIN, type StreamRun } from '../fanout/measure.js'
import { busyCores, type CpuReading, readBoxCpu } from './box-load.js'

/** What a peers run measures beyond a fan-out row. */
export interface PeerRow extends Row {
  /** `server`: tickstorm's own market; `harness`: the harness published every tick into the target. */
  readonly source: string
  /** Ticks the harness published in the window, and publish requests that failed. */
  readonly published: number | null
  readonly publishFailed: number | null
  /** What subscribers still lacked of the heads at the window's end (counted in `lost`). */
  readonly tailLost: number | null
  /** The harness's CPU over the window, in cores. */
  readonly harnessCores: number
  /** The whole box's busy cores over the window, and what neither server nor harness used. */
  readonly boxCores: number | null
  readonly otherCores: number | null
}

export interface PeerRun extends Omit<StreamRun, 'target'> {
  /** `embedded` (tickstorm with the `server:` market), or a `target:` flow mapping. */
  readonly target: string
  /** The `server:` block: tickstorm's market, or the one the harness publishes. */
  readonly market: string
}

export async function measurePeer(run: PeerRun, signal?: AbortSignal): Promise<PeerRow> {
  const embedded = run.target === 'embedded'
  const scenario = parseScenario(
    `name: ${run.workload}
description: ${run.workload} ${run.server} ${run.transport} ${run.subscribers}
target: ${run.target}
${embedded ? '' : 'source: harness\n'}server: ${run.market}
transports: [${run.transport}]
subscribers: { count: ${run.subscribers}, rampPerSec: ${run.rampPerSec}, watchList: ${run.watchList} }
warmupSec: ${run.warmupSec}
durationSec: ${run.durationSec}
thresholds: { p99Ms: 100, maxLossRatio: 0 }
`,
    `${run.workload}.yaml`,
  )
  // The box's CPU over the measured window: from the first measured progress report (the runner
  // reset its counters about a second before it) to the last.
  const box: { start: CpuReading | null; end: CpuReading | null } = { start: null, end: null }
  const outcome = await runScenario(scenario, {
    serverBin: SERVER_BIN,
    scenarioFile: `${run.workload}.yaml`,
    commit: 'bench',
    ...(signal === undefined ? {} : { signal }),
    onProgress: (progress) => {
      if (progress.warmingUp) return
      if (box.start === null) box.start = readBoxCpu()
      else box.end = readBoxCpu()
    },
  })
  const t = outcome.result.transports[0]
  if (t === undefined) throw new Error('the run measured nothing')
  if (t.failure !== undefined) throw new Error(`the run failed: ${t.failure.message}`)
  const server = t.server
  const harnessCores = t.harness.cpuPercentAvg / 100
  const boxCores =
    box.start === null || box.end === null ? null : busyCores(box.start, box.end, cpus().length)
  return {
    ...rowOf(run, t, {
      cpuPercent: server?.cpuPercentAvg ?? null,
      rssMaxBytes: server?.rssBytesMax ?? 0,
      bytesPerConnection: server?.rssBytesPerConnection ?? null,
      allConnectedSec: null,
    }),
    source: outcome.result.source ?? (embedded ? 'server' : 'harness'),
    published: t.publisher?.published ?? null,
    publishFailed: t.publisher?.failed ?? null,
    tailLost: t.tailLost ?? null,
    harnessCores: round(harnessCores),
    boxCores: boxCores === null ? null : round(boxCores),
    otherCores:
      boxCores === null
        ? null
        : round(Math.max(0, boxCores - harnessCores - (server?.cpuPercentAvg ?? 0) / 100)),
  }
}
