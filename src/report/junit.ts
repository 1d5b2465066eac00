/**
 * `--junit FILE`: a run as JUnit XML, the format CI systems show as test results. One
 * `<testsuite>` per transport, one `<testcase>` per threshold (named as written:
 * `latency p(99) < 100ms`), plus `valid`, `delivered`, `failure` (a crashed transport) and
 * `completed` (a run interrupted, or aborted by a threshold), so every reason `verdictOf` gives
 * for a failed run is a failed test case here.
 */

import type { RunResult, TransportResult } from './result-schema.js'
import { writeFileAtomic } from './summary-json.js'
import { actualText, formatSeconds, thresholdLabel } from './threshold-text.js'
import type { ThresholdOutcome } from './thresholds.js'

interface TestCase {
  readonly name: string
  /** The failure's message; absent when it passed. */
  readonly failure?: string
}

export function renderJunit(result: RunResult): string {
  const suites = result.transports.map((transport) => suite(transport, result))
  if (result.interrupted === true) {
    const cut = result.interruption
    const message =
      cut === undefined
        ? 'the run was interrupted'
        : `${cut.signal} during ${cut.transport ?? 'the run'} (${cut.phase})${
            cut.notMeasured.length > 0 ? `; not measured: ${cut.notMeasured.join(', ')}` : ''
          }`
    suites.push(renderSuite('run', [{ name: 'completed', failure: message }], 0))
  } else if (result.abortedBy !== undefined) {
    const { transport, threshold, atSec } = result.abortedBy
    const message = `${transport} ${threshold} aborted the run after ${formatSeconds(atSec)} of measurement`
    suites.push(renderSuite('run', [{ name: 'completed', failure: message }], 0))
  }
  const tests = suites.reduce((sum, s) => sum + s.tests, 0)
  const failures = suites.reduce((sum, s) => sum + s.failures, 0)
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlEscape(`tickstorm ${result.scenario.name}`)}" tests="${tests}" failures="${failures}">`,
    ...suites.map((s) => s.xml),
    '</testsuites>',
    '',
  ].join('\n')
}

/** The JUnit XML of `result`, atomically at `path`. */
export async function writeJunit(path: string, result: RunResult): Promise<void> {
  await writeFileAtomic(path, renderJunit(result))
}

function suite(transport: TransportResult, result: RunResult) {
  const cases: TestCase[] = []
  if (transport.failure !== undefined) {
    cases.push({ name: 'failure', failure: transport.failure.message })
  }
  for (const outcome of transport.thresholds) {
    cases.push({
      name: thresholdLabel(outcome),
      ...(outcome.passed ? {} : { failure: describe(outcome) }),
    })
  }
  cases.push({
    name: 'valid',
    ...(transport.validity.valid
      ? {}
      : { failure: transport.validity.invalidReasons.join('; ') || 'invalid' }),
  })
  cases.push({
    name: 'delivered',
    ...(transport.deliveries > 0 ? {} : { failure: 'no event was delivered' }),
  })
  return renderSuite(`${result.scenario.name}.${transport.transport}`, cases, transport.measuredSec)
}

function renderSuite(name: string, cases: readonly TestCase[], seconds: number) {
  const failures = cases.filter((c) => c.failure !== undefined).length
  const lines = [
    `  <testsuite name="${xmlEscape(name)}" tests="${cases.length}" failures="${failures}" errors="0" time="${seconds}">`,
    ...cases.map((c) => {
      const open = `    <testcase classname="${xmlEscape(name)}" name="${xmlEscape(c.name)}"`
      if (c.failure === undefined) return `${open}/>`
      return `${open}>\n      <failure message="${xmlEscape(c.failure).replace(/\n/g, '&#10;')}">${xmlEscape(c.failure)}</failure>\n    </testcase>`
    }),
    '  </testsuite>',
  ]
  return { xml: lines.join('\n'), tests: cases.length, failures }
}

/**
 * `actual 132.4 ms (worst 10 s window, from 23 s)` for a threshold written as an expression (the
 * case's name says the limit); `actual 412 > limit 100` for an old key, as results before 6 had.
 */
function describe(outcome: ThresholdOutcome): string {
  if (outcome.expression !== undefined) return `actual ${actualText(outcome)}`
  const op = outcome.name === 'minDeliveriesPerSec' ? '<' : '>'
  return `actual ${outcome.actual} ${op} limit ${outcome.limit}`
}

/**
 * Text safe in an XML attribute or element: the five specials escaped, and characters XML 1.0
 * cannot carry at all (control characters but tab, newline, carriage return) dropped.
 */
export function xmlEscape(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
}
