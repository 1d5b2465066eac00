/**
 * tickstorm itself, as one target among the others: its stream, long-poll and WebSocket
 * endpoints, its tick payload, its snapshots, its universe (`/v1/symbols`) and its heads (the
 * per-symbol sequence of `/v1/snapshot`). It makes its own events: source server.
 */

import { ERROR_CODES, TickstormError } from '../../errors.js'
import { subscriberHeaders } from '../subscriber-token.js'
import { TARGET_OFFERS, type TargetAdapter } from './adapter.js'
import { describeNetworkError } from './network-error.js'
import { TICKSTORM_EVENT_FIELDS, type WireSpec } from './wire-spec.js'

/** How long reading the heads may take before the run gives up counting the tail. */
const HEADS_TIMEOUT_MS = 5000

function isJson(response: Response): boolean {
  return (response.headers.get('content-type') ?? '').startsWith('application/json')
}

/** How long a tickstorm long poll is held before an empty answer (the server caps it too). */
const POLL_TIMEOUT_MS = 25_000

export interface TickstormTargetConfig {
  readonly headers: Readonly<Record<string, string>>
  readonly query: Readonly<Record<string, string>>
  readonly auth: { readonly secret: string; readonly ttlSec: number } | null
}

export function createTickstormAdapter(config: TickstormTargetConfig): TargetAdapter {
  const wire: WireSpec = {
    headers: config.headers,
    query: config.query,
    symbolSeparator: ',',
    everySymbol: '*',
    sse: { path: '/v1/stream?symbols={symbols}', resume: 'last-event-id' },
    longpoll: {
      path: `/v1/poll?symbols={symbols}&timeoutMs=${POLL_TIMEOUT_MS}`,
      cursorQuery: 'cursor',
      answer: 'events',
    },
    ws: {
      path: '/v1/ws',
      subscribe: '{"op":"subscribe","symbols":{symbols}}',
      resumeField: 'lastEventId',
      resumeHeader: null,
      frames: 'events',
      protocols: [],
    },
    http: { paths: ['/v1/snapshot?symbols={symbols}', '/v1/symbols'] },
    event: TICKSTORM_EVENT_FIELDS,
    snapshots: true,
    token: config.auth,
  }
  // The harness's own requests (universe, heads) carry the credentials of a subscriber of all.
  const headers = (): Record<string, string> => subscriberHeaders(config.headers, config.auth, null)
  /**
   * A GET whose answer the caller may leave unread: `drop()` aborts it (a server not quite
   * tickstorm's may answer with a stream that never ends, and cancelling such a body waits for
   * its end).
   */
  const get = async (baseUrl: string, path: string, signal: AbortSignal | undefined) => {
    const url = new URL(`${baseUrl.replace(/\/$/, '')}${path}`)
    for (const [name, value] of Object.entries(config.query)) url.searchParams.set(name, value)
    const own = new AbortController()
    const both = signal ? AbortSignal.any([signal, own.signal]) : own.signal
    try {
      const response = await fetch(url, { headers: headers(), signal: both })
      return Object.assign(response, { drop: () => own.abort() })
    } catch (cause) {
      if (signal?.aborted) throw cause
      const why = describeNetworkError(cause)
      throw new TickstormError(
        ERROR_CODES.TARGET_UNREACHABLE,
        `cannot reach the target ${baseUrl}: ${why} (is its server running?)`,
        { cause, details: { url: baseUrl, cause: why } },
      )
    }
  }
  /**
   * The symbol list is open on a server that wants tokens; its data is not. One snapshot with the
   * credentials subscribers will carry tells, before any of them connects, whether they will be
   * let in: otherwise a run ends in a wall of 401s and "not connected".
   */
  const checkAccess = async (
    baseUrl: string,
    symbol: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> => {
    if (symbol === undefined) return
    const response = await get(
      baseUrl,
      `/v1/snapshot?symbols=${encodeURIComponent(symbol)}`,
      signal,
    )
    if (response.status !== 401 && response.status !== 403) {
      response.drop()
      return
    }
    const text = await response.text()
    const said = (() => {
      try {
        return (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? ''
      } catch {
        return ''
      }
    })()
    throw new TickstormError(
      ERROR_CODES.INVALID_OPTIONS,
      `${baseUrl} refused the harness's credentials (HTTP ${response.status}${said === '' ? '' : `: ${said}`}): ${
        config.auth === null
          ? 'the server wants a token: give target.auth: { secret } (its --auth-secret) or target.headers with an Authorization header'
          : "check target.auth.secret against the server's --auth-secret"
      }`,
      { details: { url: baseUrl, status: response.status } },
    )
  }
  return {
    kind: 'tickstorm',
    ...TARGET_OFFERS.tickstorm,
    defaultSource: 'server',
    wire,
    async universe(baseUrl, signal) {
      const response = await get(baseUrl, '/v1/symbols', signal)
      if (!response.ok) {
        response.drop()
        throw new TickstormError(
          ERROR_CODES.INVALID_OPTIONS,
          `${baseUrl}/v1/symbols answered ${response.status}: the target must list its symbols${response.status === 401 ? ' (it wants a token: give target.auth or target.headers)' : ''}`,
        )
      }
      const body = (await response.json()) as { symbols: { symbol: string }[] }
      const symbols = body.symbols.map((entry) => entry.symbol)
      await checkAccess(baseUrl, symbols[0], signal)
      return symbols
    },
    async heads(baseUrl, _symbols, signal) {
      // Bounded: a server that is not quite tickstorm's may answer with something that never ends.
      const bounded = AbortSignal.any([
        AbortSignal.timeout(HEADS_TIMEOUT_MS),
        ...(signal ? [signal] : []),
      ])
      try {
        const response = await get(baseUrl, '/v1/snapshot?symbols=*', bounded)
        if (!response.ok || !isJson(response)) {
          response.drop()
          return null
        }
        const body = (await response.json()) as { quotes?: unknown }
        if (!Array.isArray(body.quotes)) return null
        const heads = new Map<string, number>()
        for (const quote of body.quotes as { sym?: unknown; q?: unknown }[]) {
          if (typeof quote.sym === 'string' && Number.isInteger(quote.q)) {
            heads.set(quote.sym, quote.q as number)
          }
        }
        return heads
      } catch {
        // Unreachable now, or not answering: the tail cannot be counted, the gaps still are.
        return null
      }
    },
    publish: null,
    publishUrl: null,
    attach: async () => null,
  }
}
