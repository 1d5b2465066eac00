/**
 * Writes a run's directory: `result.json` (validated before it is written, so a file on disk is
 * always readable back), one `<transport>.hlog` per transport, and `report.html`.
 */

import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { formatHlog, type HlogInterval } from './hlog.js'
import { renderReportHtml, type UplotAssets } from './html.js'
import type { TransportName } from './measurements.js'
import { type RunResult, validateRunResult } from './result-schema.js'

export interface WrittenResult {
  readonly dir: string
  readonly resultPath: string
  readonly hlogPaths: Readonly<Partial<Record<TransportName, string>>>
  readonly reportPath: string
}

/** `20251124T064455Z-compare-transports`: sorts by time, names the scenario. */
export function resultDirName(startedAt: Date, scenarioName: string): string {
  const stamp = startedAt
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replaceAll('-', '')
    .replaceAll(':', '')
  return `${stamp}-${scenarioName}`
}

/**
 * A run's directory name: its start and scenario, and for a segment which share it holds, so the
 * inputs of a merge read apart at a glance (`…-ticker-seg2of3`).
 */
export function runDirName(result: RunResult): string {
  const segment = result.segment
  const name = segment
    ? `${result.scenario.name}-seg${segment.index}of${segment.count}`
    : result.scenario.name
  return resultDirName(new Date(result.startedAt), name)
}

export async function writeResultDir(
  dir: string,
  result: RunResult,
  hlogs: Readonly<Partial<Record<TransportName, readonly HlogInterval[]>>>,
  options: { readonly assets?: UplotAssets } = {},
): Promise<WrittenResult> {
  const valid = validateRunResult(result, 'the result to write')
  await mkdir(dir, { recursive: true })
  const resultPath = join(dir, 'result.json')
  await writeFile(resultPath, `${JSON.stringify(valid, null, 2)}\n`)
  const hlogPaths: Partial<Record<TransportName, string>> = {}
  const startTimeMs = Date.parse(valid.startedAt)
  for (const [transport, intervals] of Object.entries(hlogs) as [
    TransportName,
    readonly HlogInterval[],
  ][]) {
    const path = join(dir, `${transport}.hlog`)
    await writeFile(
      path,
      formatHlog(intervals, {
        startTimeMs,
        tag: transport,
        comment: `tickstorm ${valid.scenario.name} ${valid.runId} ${transport} latency (µs)`,
      }),
    )
    hlogPaths[transport] = path
  }
  const reportPath = join(dir, 'report.html')
  await writeFile(
    reportPath,
    renderReportHtml(valid, options.assets ? { assets: options.assets } : {}),
  )
  return { dir, resultPath, hlogPaths, reportPath }
}
