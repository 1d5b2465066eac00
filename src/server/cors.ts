import type { HttpResponse } from './native-uws.js'

/** Response headers as name/value pairs, written in order. */
export type HeaderList = readonly (readonly [string, string])[]

/** What one request's `Origin` earns it. Decided once per request, in the route handler. */
export interface CorsDecision {
  /**
   * False when a page on an origin outside the allowlist sent the request: `/v1/*` routes refuse it
   * (403), other routes answer without `Access-Control-Allow-Origin` and the browser blocks the read.
   */
  readonly allowed: boolean
  /**
   * True when the request has no `Origin` (not a browser page), a same-origin one, or one named in
   * the allowlist: only then is a token in a cookie honoured. With `*`, any page could otherwise
   * ride a visitor's cookie on a WebSocket, which CORS does not guard.
   */
  readonly trusted: boolean
  /** The CORS headers every answer to this request carries. */
  readonly headers: HeaderList
}

export interface CorsPolicy {
  /** `origin` and `host` are the request's headers ('' when absent). */
  decide(origin: string, host: string): CorsDecision
}

/** What a preflight allows besides the origin (reference/sse.md §4.3, §4.7). */
export const PREFLIGHT_HEADERS: HeaderList = Object.freeze([
  ['Access-Control-Allow-Methods', 'GET, POST, OPTIONS'],
  // Last-Event-ID: an EventSource reconnect may preflight (mercure#535); Authorization: bearer
  // tokens from fetch-based clients.
  ['Access-Control-Allow-Headers', 'Last-Event-ID, Content-Type, Authorization'],
  ['Access-Control-Max-Age', '600'],
] as const)

const ANY: HeaderList = Object.freeze([['Access-Control-Allow-Origin', '*']] as const)
const VARY: HeaderList = Object.freeze([['Vary', 'Origin']] as const)

/** Writes a decision's headers; the one place CORS headers reach a response. */
export function writeCorsHeaders(res: HttpResponse, cors: CorsDecision): void {
  for (const [name, value] of cors.headers) res.writeHeader(name, value)
}

/**
 * The origin rule. `['*']` (the default): `Access-Control-Allow-Origin: *` on everything and no
 * credentials, so any page may read the stream but no browser sends cookies cross-origin. A list:
 * the request's exact `Origin` is echoed with `Access-Control-Allow-Credentials: true` when listed
 * (reference/sse.md §4.7: with credentials, never `*`), and every answer carries `Vary: Origin`
 * so caches keep the variants apart. Decisions for listed origins are built once; a request costs
 * a header read and a map lookup.
 */
export function createCorsPolicy(origins: readonly string[]): CorsPolicy {
  if (origins.length === 1 && origins[0] === '*') {
    const trusted: CorsDecision = Object.freeze({ allowed: true, trusted: true, headers: ANY })
    const untrusted: CorsDecision = Object.freeze({ allowed: true, trusted: false, headers: ANY })
    return {
      decide: (origin, host) => (origin === '' || sameOrigin(origin, host) ? trusted : untrusted),
    }
  }
  const listed = new Map<string, CorsDecision>(origins.map((origin) => [origin, echo(origin)]))
  const noOrigin: CorsDecision = Object.freeze({ allowed: true, trusted: true, headers: VARY })
  const refused: CorsDecision = Object.freeze({ allowed: false, trusted: false, headers: VARY })
  return {
    decide(origin, host) {
      if (origin === '') return noOrigin
      const decision = listed.get(origin)
      if (decision !== undefined) return decision
      // The page this server itself serves (the demo) is always allowed: a WebSocket or a POST
      // sends Origin even same-origin. Behind a proxy that rewrites Host, list the public origin.
      return sameOrigin(origin, host) ? echo(origin) : refused
    },
  }
}

function echo(origin: string): CorsDecision {
  return Object.freeze({
    allowed: true,
    trusted: true,
    headers: Object.freeze([
      ['Access-Control-Allow-Origin', origin],
      ['Access-Control-Allow-Credentials', 'true'],
      ['Vary', 'Origin'],
    ] as const),
  })
}

function sameOrigin(origin: string, host: string): boolean {
  if (host === '') return false
  const lower = host.toLowerCase()
  return origin === `http://${lower}` || origin === `https://${lower}`
}

/**
 * Checks an allowlist entry: `*` alone, or a serialized origin (`scheme://host[:port]`, no path,
 * no trailing slash), exactly as browsers send it in `Origin`. Returns the problem, or null.
 */
export function corsOriginProblem(origin: unknown): string | null {
  if (typeof origin !== 'string') return 'must be a string'
  if (origin === '*') return null
  if (origin === 'null') {
    return 'must not be "null" (sandboxed frames and file: pages all send it)'
  }
  let parsed: URL
  try {
    parsed = new URL(origin)
  } catch {
    return 'must be an origin like https://app.example.com'
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return 'must be an http or https origin'
  }
  if (parsed.origin !== origin) {
    return `must be exactly scheme://host[:port] as browsers send it (here ${JSON.stringify(parsed.origin)})`
  }
  return null
}
