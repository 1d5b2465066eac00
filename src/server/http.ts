import { ERROR_CODES, TickstormError } from '../errors.js'
import { type CorsDecision, type HeaderList, writeCorsHeaders } from './cors.js'
import type { HttpResponse } from './native-uws.js'

const STATUS_LINES: Readonly<Record<number, string>> = {
  200: '200 OK',
  204: '204 No Content',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  413: '413 Payload Too Large',
  426: '426 Upgrade Required',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
}

/** The HTTP status each coded error maps to. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  [ERROR_CODES.UNKNOWN_SYMBOL]: 400,
  [ERROR_CODES.BAD_QUERY]: 400,
  [ERROR_CODES.BAD_JSON]: 400,
  [ERROR_CODES.BODY_TOO_LARGE]: 413,
  [ERROR_CODES.UNAUTHORIZED]: 401,
  [ERROR_CODES.FORBIDDEN]: 403,
  [ERROR_CODES.NOT_FOUND]: 404,
  [ERROR_CODES.METHOD_NOT_ALLOWED]: 405,
  [ERROR_CODES.UPGRADE_REQUIRED]: 426,
  [ERROR_CODES.NO_SYMBOLS]: 400,
  [ERROR_CODES.SHUTTING_DOWN]: 503,
  [ERROR_CODES.OVERLOADED]: 503,
  [ERROR_CODES.INTERNAL]: 500,
}

/**
 * The responses that answer a HEAD request. uWS cannot tell a response which method it answers,
 * and `res.end(body)` on a HEAD writes the body anyway (a keep-alive client then reads it as the
 * start of its next response; curl says "Excess found"). Every answer ends in `endWith`, so that is
 * where HEAD is honoured, without threading a flag through every path that may answer (the route,
 * the token check, an error). uWS makes a response object per request, so an entry never outlives
 * its request; a WeakSet adds no property to the native object.
 */
const headResponses = new WeakSet<HttpResponse>()

/** Marks `res` as the answer to a HEAD request: GET's status and headers, no content. */
export function markHead(res: HttpResponse): void {
  headResponses.add(res)
}

export function isHead(res: HttpResponse): boolean {
  return headResponses.has(res)
}

/**
 * Ends an answer with `content`; for HEAD (RFC 9110 §9.3.2) with the Content-Length a GET would
 * get and no content. `null` content: a HEAD whose GET content is not known in advance (a long
 * poll's), answered with no Content-Length. This uWS build's `endWithoutBody(length)` writes
 * nothing and leaves the response open (so does passing `undefined`), so the length is written as
 * a header and `endWithoutBody()` is called with no argument.
 */
export function endWith(
  res: HttpResponse,
  content: string | Uint8Array | null,
  closeConnection = false,
): void {
  if (!headResponses.has(res)) {
    res.end(content ?? undefined, closeConnection)
    return
  }
  if (content !== null) {
    const length = typeof content === 'string' ? Buffer.byteLength(content) : content.byteLength
    res.writeHeader('Content-Length', String(length))
  }
  // No `closeConnection` here: passing any argument trips the bug above. A HEAD holds no stream,
  // so keeping its connection alive costs nothing.
  res.endWithoutBody()
}

/**
 * A JSON answer. `cors` is the request's origin decision (cors.ts), made in its route handler:
 * every answer carries the CORS headers its request earned, never a blanket `*`.
 */
export function sendJson(
  res: HttpResponse,
  status: number,
  json: string | Uint8Array | null,
  cors: CorsDecision,
  extraHeaders: HeaderList = [],
): void {
  res.cork(() => {
    res.writeStatus(STATUS_LINES[status] ?? `${status}`)
    writeCorsHeaders(res, cors)
    res.writeHeader('Content-Type', 'application/json; charset=utf-8')
    res.writeHeader('Cache-Control', 'no-store')
    for (const [name, value] of extraHeaders) res.writeHeader(name, value)
    endWith(res, json)
  })
}

/**
 * `{"error":{"code","message","details"?}}` with the status the code maps to. Messages and details
 * are the server's own words: a token is never put in either.
 */
export function sendError(
  res: HttpResponse,
  error: TickstormError,
  cors: CorsDecision,
  extraHeaders: HeaderList = [],
): void {
  const status = STATUS_BY_CODE[error.code] ?? 500
  const body: { code: string; message: string; details?: unknown } = {
    code: error.code,
    message: error.message,
  }
  if (error.details !== undefined) body.details = error.details
  sendJson(res, status, JSON.stringify({ error: body }), cors, extraHeaders)
}

/**
 * Parses a query string, rejecting parameters the route does not know (a typo such as `symbol=`
 * would otherwise silently subscribe to everything) and repeated ones.
 */
export function parseQuery(query: string, allowed: readonly string[]): URLSearchParams {
  const params = new URLSearchParams(query)
  const seen = new Set<string>()
  for (const key of params.keys()) {
    if (!allowed.includes(key)) {
      throw new TickstormError(
        ERROR_CODES.BAD_QUERY,
        `unknown query parameter ${JSON.stringify(key)}; this route takes ${allowed.join(', ')}`,
        { details: { parameter: key, allowed } },
      )
    }
    if (seen.has(key)) {
      throw new TickstormError(ERROR_CODES.BAD_QUERY, `query parameter ${key} is repeated`, {
        details: { parameter: key },
      })
    }
    seen.add(key)
  }
  return params
}

/** A boolean query flag: `true`/`1` or `false`/`0`. */
export function parseFlag(name: string, value: string | null, fallback: boolean): boolean {
  if (value === null) return fallback
  if (value === 'true' || value === '1') return true
  if (value === 'false' || value === '0') return false
  throw new TickstormError(
    ERROR_CODES.BAD_QUERY,
    `${name} must be true or false, got ${JSON.stringify(value)}`,
  )
}

/** A whole-number query parameter in [0, max], or `fallback` when absent. */
export function parseIntParam(
  name: string,
  value: string | null,
  fallback: number,
  max: number,
): number {
  if (value === null) return fallback
  if (!/^\d{1,10}$/.test(value) || Number(value) > max) {
    throw new TickstormError(
      ERROR_CODES.BAD_QUERY,
      `${name} must be a whole number from 0 to ${max}, got ${JSON.stringify(value)}`,
    )
  }
  return Number(value)
}

/**
 * Collects a request body up to `maxBytes`. uWS hands out chunks that are only valid during the
 * callback, so each is copied. The caller must have registered `onAborted` already.
 */
export function readBody(
  res: HttpResponse,
  maxBytes: number,
  declaredLength: number,
  onBody: (body: Buffer) => void,
  onError: (error: TickstormError) => void,
): void {
  const tooLarge = () =>
    new TickstormError(
      ERROR_CODES.BODY_TOO_LARGE,
      `request body is larger than ${maxBytes} bytes`,
      {
        details: { maxBytes },
      },
    )
  if (declaredLength > maxBytes) {
    onError(tooLarge())
    return
  }
  const chunks: Buffer[] = []
  let received = 0
  let failed = false
  res.onData((chunk, isLast) => {
    if (failed) return
    received += chunk.byteLength
    if (received > maxBytes) {
      failed = true
      onError(tooLarge())
      return
    }
    chunks.push(Buffer.from(chunk.slice(0)))
    if (isLast) onBody(Buffer.concat(chunks, received))
  })
}
