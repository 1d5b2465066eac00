/**
 * `report.html`: one self-contained file that opens offline, with the verdict, the run's
 * provenance, the tables (html-sections.ts) and the charts (html-charts.ts) on the shared page
 * (html-page.ts). `tickstorm run` writes it into the result directory; `tickstorm report DIR`
 * renders it again from `result.json`, of any schema version this tickstorm reads.
 */

import { formatBytes, formatProvenance, transportLabel } from './console.js'
import { runCharts } from './html-charts.js'
import { escapeHtml, type PageParts, renderPage, type UplotAssets } from './html-page.js'
import {
  abortedLine,
  arrivalsSection,
  faultsSection,
  recoverySplitSection,
  spreadSection,
  stalenessSection,
  summaryTable,
  thresholdsTable,
} from './html-sections.js'
import type { RunResult } from './result-schema.js'
import { verdictOf } from './verdict.js'

// renderReportHtml's option type, which its callers (write-result.ts, merge.ts) name too.
export type { UplotAssets }

export function renderReportHtml(
  result: RunResult,
  options: { assets?: UplotAssets } = {},
): string {
  const m = result.machine
  const meta: [string, string][] = [
    ['scenario', `${result.scenario.name} (${result.scenario.file})`],
    ['description', String(result.scenario.parsed['description'] ?? '')],
    [
      'target',
      result.targetKind === undefined
        ? result.target
        : `${result.targetKind} ${result.target}, events from ${result.source === 'harness' ? "the harness's publisher" : 'the server'}${result.channelsPerConnection == null ? '' : `, at most ${result.channelsPerConnection} channels per connection`}`,
    ],
    ['run', `${result.runId}: ${result.startedAt} → ${result.endedAt}`],
    ['machine', `${m.cpuModel} × ${m.cores}, ${formatBytes(m.memoryBytes)}, ${m.os} ${m.kernel}`],
    ['node', result.nodeVersion],
    ['commit', result.commit],
  ]
  const provenance = formatProvenance(result)
  if (provenance !== '') meta.push([result.segment ? 'segment' : 'merged', provenance])
  const warnings = result.transports.flatMap((t) =>
    t.validity.invalidReasons.map(
      (reason) =>
        `<div class="invalid">${escapeHtml(transportLabel(t.transport))} run is INVALID: ${escapeHtml(reason)}. Its latencies are the harness's, not the server's.</div>`,
    ),
  )
  const verdict = verdictOf(result)
  const reasons =
    verdict.reasons.length === 0
      ? ''
      : `<div class="verdict">${verdict.reasons.map(escapeHtml).join('; ')}</div>`
  const body = `<h1>tickstorm: ${escapeHtml(result.scenario.name)} <span class="${result.passed ? 'passed' : 'failed'}">${verdict.label}</span></h1>
${abortedLine(result)}${reasons}
<table class="meta">${meta.map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`).join('')}</table>
${warnings.join('\n')}
<h2>Summary</h2>
${summaryTable(result.transports)}
${thresholdsTable(result.transports)}
${recoverySplitSection(result.transports)}
${spreadSection(result.transports)}
${stalenessSection(result.transports)}
${arrivalsSection(result.transports)}
${faultsSection(result)}`
  const page: PageParts = {
    title: `tickstorm: ${result.scenario.name}`,
    bodyHtml: body,
    charts: runCharts(result),
  }
  return renderPage(options.assets ? { ...page, assets: options.assets } : page)
}
