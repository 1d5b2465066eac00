import { readFileSync } from 'node:fs'
import { ERROR_CODES, TickstormError } from '../errors.js'
import {
  createLiveOutputs,
  type LiveOutputs,
  OUTPUT_KINDS,
  type OutputKind,
  type OutputOutcome,
  type OutputTarget,
} from '../report/outputs/live-outputs.js'
import type { RunResult } from '../report/result-schema.js'

// `run --out <kind>=<url>` (repeatable): where the live metrics go besides the console.

const USAGE = `--out takes ${OUTPUT_KINDS.map((kind) => `${kind}=URL`).join(' or ')}`

/**
 * One `--out` value: the kind before the first `=`, an http(s) URL after it. Checked before the
 * run starts, so a typo is a usage error (exit 2) rather than a minute of pushes that all fail.
 */
export function parseOutFlag(value: string): OutputTarget {
  const at = value.indexOf('=')
  const kind = at < 0 ? value : value.slice(0, at)
  if (!(OUTPUT_KINDS as readonly string[]).includes(kind)) {
    throw new TickstormError(ERROR_CODES.USAGE, `${USAGE}, got ${JSON.stringify(value)}`)
  }
  const url = at < 0 ? '' : value.slice(at + 1)
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new TickstormError(
      ERROR_CODES.USAGE,
      `--out ${kind}= needs an http or https URL, got ${JSON.stringify(url)}`,
    )
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TickstormError(
      ERROR_CODES.USAGE,
      `--out ${kind}= needs an http or https URL, got ${JSON.stringify(url)}`,
    )
  }
  return Object.freeze({ kind: kind as OutputKind, url: parsed.href })
}

/** This package's version, for the OpenTelemetry resource (dist/src/cli → the package root). */
function packageVersion(): string {
  const path = new URL('../../../package.json', import.meta.url)
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version
}

/** Outputs give up on their last sends after this, so a dead receiver delays the exit by ≤ 10 s. */
const FLUSH_DEADLINE_MS = 10_000

/**
 * The run's outputs, saying on stderr where they go (with the `run` label to query by: the
 * runId result.json will hold), the first failure of each as it happens, and at the end what
 * each sent. Null without any `--out`.
 */
export function startOutputs(
  targets: readonly OutputTarget[],
  scenario: string,
  run: string,
  say: (line: string) => void,
): {
  onProgress: LiveOutputs['onProgress']
  finish: (result: RunResult | null) => Promise<void>
} | null {
  if (targets.length === 0) return null
  const outputs = createLiveOutputs(
    targets,
    { scenario, run },
    {
      version: packageVersion(),
      onFailure: (target, message) =>
        say(
          `tickstorm run: --out ${target.kind}=${target.url}: push failed: ${message} (the run goes on; further failures are counted)`,
        ),
    },
  )
  for (const target of targets)
    say(`--out ${target.kind}=${target.url}  (labels run="${run}", scenario="${scenario}")`)
  return {
    onProgress: (progress) => outputs.onProgress(progress),
    async finish(result) {
      for (const outcome of await outputs.finish(result, FLUSH_DEADLINE_MS))
        say(describeOutcome(outcome))
    },
  }
}

/** `--out otlp=http://…: 12 sent, 1 failed (last: HTTP 503: Service Unavailable)`. */
function describeOutcome(outcome: OutputOutcome): string {
  const parts = [`${outcome.sent} sent`, `${outcome.failed} failed`]
  if (outcome.dropped > 0) parts.push(`${outcome.dropped} dropped (superseded)`)
  if (outcome.abandoned > 0) parts.push(`${outcome.abandoned} abandoned at the deadline`)
  const last =
    outcome.failed > 0 && outcome.lastError !== null ? ` (last: ${outcome.lastError})` : ''
  return `--out ${outcome.target.kind}=${outcome.target.url}: ${parts.join(', ')}${last}`
}
