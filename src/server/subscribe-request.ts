import { ERROR_CODES, type ErrorCode, TickstormError } from '../errors.js'
import { askedSymbols } from './subscription.js'

/** A subscription asked for in JSON: a POST /v1/stream body or a WebSocket subscribe message. */
export interface SubscribeRequest {
  /** Symbol names, or null for every symbol (`"symbols": "*"`; see askedSymbols). */
  readonly symbols: readonly string[] | null
  readonly lastEventId: string | null
  /** Whether a fresh subscription starts with a snapshot (default true). */
  readonly snapshot: boolean
}

const KEYS = ['symbols', 'lastEventId', 'snapshot']

/**
 * Validates `{symbols, lastEventId?, snapshot?}` strictly: an unknown key is an error (a typo such
 * as `symbol` would otherwise leave `symbols` out). `symbols` follows askedSymbols: `"*"` or a
 * non-empty list, never absent. Errors carry `code` (TS_ERR_NO_SYMBOLS for a missing or empty list).
 */
export function parseSubscribeRequest(
  value: unknown,
  code: ErrorCode,
  extraKeys: readonly string[] = [],
): SubscribeRequest {
  const fail = (message: string) => new TickstormError(code, message)
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw fail('expected a JSON object like {"symbols": ["AAPL"]} or {"symbols": "*"}')
  }
  const record = value as Record<string, unknown>
  const unknown = Object.keys(record).filter(
    (key) => !KEYS.includes(key) && !extraKeys.includes(key),
  )
  if (unknown.length > 0) {
    const names = unknown.map((key) => JSON.stringify(key)).join(', ')
    throw fail(
      `unknown key${unknown.length > 1 ? 's' : ''} ${names}; expected ${[...extraKeys, ...KEYS].join(', ')}`,
    )
  }
  const { lastEventId, snapshot } = record
  if (lastEventId !== undefined && typeof lastEventId !== 'string') {
    throw fail('`lastEventId` must be a string')
  }
  if (snapshot !== undefined && typeof snapshot !== 'boolean') {
    throw fail('`snapshot` must be a boolean')
  }
  return {
    symbols: askedSymbols(record['symbols'], 'json', code),
    lastEventId: (lastEventId as string | undefined) ?? null,
    snapshot: (snapshot as boolean | undefined) ?? true,
  }
}

/** A POST body as JSON; an empty body is `{}` (then the missing `symbols` says what is wrong). */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return {}
  try {
    return JSON.parse(body.toString('utf8'))
  } catch (error) {
    throw new TickstormError(
      ERROR_CODES.BAD_JSON,
      `request body is not valid JSON: ${(error as Error).message}`,
    )
  }
}
