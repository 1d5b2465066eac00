/**
 * The target of one transport's run: a fresh embedded server (a child process, sampled from /proc)
 * or the scenario's URL, and what the harness asks of it before any subscriber: its symbols.
 */

import { ERROR_CODES, TickstormError } from '../errors.js'
import type { TransportName } from '../report/measurements.js'
import { startEmbeddedServer } from './embedded-target.js'
import { createProcessSampler, type ProcessSampler } from './process-sampler.js'
import type { RunContext } from './run-context.js'
import type { Scenario } from './scenario.js'

export type EmbeddedServerHandle = Awaited<ReturnType<typeof startEmbeddedServer>>

export interface Target {
  /** The embedded server, or null for a URL target. */
  readonly server: EmbeddedServerHandle | null
  readonly baseUrl: string
  /** The embedded server's CPU and RSS, sampled once a second; null for a URL target. */
  readonly sampler: ProcessSampler | null
}

/** Starts the scenario's target: a fresh embedded server, or nothing for a URL target. */
export async function startTarget(
  scenario: Scenario,
  context: RunContext,
  transport: TransportName,
  retryMs: number,
): Promise<Target> {
  const { options } = context
  const server =
    scenario.target === 'embedded'
      ? await startEmbeddedServer({
          bin: options.serverBin,
          preset: scenario.server?.preset ?? 'normal',
          seed: scenario.server?.seed ?? 1,
          frameMs: scenario.server?.frameMs ?? 5,
          speed: scenario.server?.speed ?? 1,
          symbols: scenario.server?.symbols,
          ratePerSec: scenario.server?.ratePerSec,
          retryMs,
          signal: options.signal,
        })
      : null
  const baseUrl = server?.url ?? (scenario.target as { url: string }).url
  const sampler = server ? createProcessSampler(server.pid) : null
  sampler?.start(1000)
  options.onTarget?.(baseUrl, { transport, pid: server?.pid ?? null })
  return { server, baseUrl, sampler }
}

export async function fetchUniverse(
  baseUrl: string,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  let response: Response
  try {
    response = await fetch(`${baseUrl}/v1/symbols`, signal === undefined ? {} : { signal })
  } catch (cause) {
    if (signal?.aborted) throw cause
    const why = describeNetworkError(cause)
    throw new TickstormError(
      ERROR_CODES.TARGET_UNREACHABLE,
      `cannot reach the target ${baseUrl}: ${why} (is its server running?)`,
      { cause, details: { url: baseUrl, cause: why } },
    )
  }
  if (!response.ok) {
    throw new TickstormError(
      ERROR_CODES.INVALID_OPTIONS,
      `${baseUrl}/v1/symbols answered ${response.status}: the target must list its symbols`,
    )
  }
  const body = (await response.json()) as { symbols: { symbol: string }[] }
  return body.symbols.map((entry) => entry.symbol)
}

/**
 * What undici's "fetch failed" hides in its cause: `ECONNREFUSED 127.0.0.1:4000`,
 * `ENOTFOUND no.such.host`, one per address tried (localhost may be tried as ::1 and 127.0.0.1).
 */
export function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: unknown } | null)?.cause ?? error
  const parts = cause instanceof AggregateError ? cause.errors : [cause]
  const described = parts.map((part) => {
    const e = part as Partial<
      NodeJS.ErrnoException & { address: string; port: number; hostname: string }
    >
    if (typeof e.code !== 'string') return e instanceof Error ? e.message : String(e)
    const where =
      e.address !== undefined
        ? `${e.address}${e.port === undefined ? '' : `:${e.port}`}`
        : (e.hostname ?? '')
    return where === '' ? e.code : `${e.code} ${where}`
  })
  return [...new Set(described)].join(', ')
}

export function sourceAddresses(baseUrl: string, connections: number): string[] {
  const host = new URL(baseUrl).hostname
  if (connections <= 10_000 || !(host === '127.0.0.1' || host === 'localhost')) return []
  const count = Math.ceil(connections / 10_000) + 1
  return Array.from({ length: count }, (_, i) => `127.0.0.${i + 1}`)
}
