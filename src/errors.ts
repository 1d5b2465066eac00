/**
 * Every error tickstorm raises or sends carries a stable code (in the spirit of undici's
 * `UND_ERR_*` and fastify's `FST_ERR_*`): programs branch on `code`, people read `message`.
 */

export const ERROR_CODES = {
  /** Options or config failed validation; `details.problems` lists every problem found. */
  INVALID_OPTIONS: 'TS_ERR_INVALID_OPTIONS',
  /** uWebSockets.js loaded its slow pure-JS fallback instead of the native addon. */
  UWS_NOT_NATIVE: 'TS_ERR_UWS_NOT_NATIVE',
  /** The server could not bind its host and port. */
  LISTEN_FAILED: 'TS_ERR_LISTEN_FAILED',
  /**
   * A run's URL target did not answer (`details.cause`: ECONNREFUSED, ENOTFOUND, a timeout …): the
   * server is down or elsewhere, not the scenario wrong, so `run` exits 1, not 2.
   */
  TARGET_UNREACHABLE: 'TS_ERR_TARGET_UNREACHABLE',
  /**
   * A run's ramp ended with subscribers still unconnected after its planned time and a grace
   * period: the target refused them or could not take them as fast (`run` exits 1).
   */
  SUBSCRIBERS_NOT_CONNECTED: 'TS_ERR_SUBSCRIBERS_NOT_CONNECTED',
  /** A worker thread of a `--workers` server died; the server drained the others and stopped. */
  WORKER_CRASHED: 'TS_ERR_WORKER_CRASHED',
  /** A requested symbol is not in the universe. */
  UNKNOWN_SYMBOL: 'TS_ERR_UNKNOWN_SYMBOL',
  /** A query parameter is malformed or unknown. */
  BAD_QUERY: 'TS_ERR_BAD_QUERY',
  /** A request body is not valid JSON or not of the expected shape. */
  BAD_JSON: 'TS_ERR_BAD_JSON',
  /** A request body is larger than the server accepts. */
  BODY_TOO_LARGE: 'TS_ERR_BODY_TOO_LARGE',
  /** No route matches the path. */
  NOT_FOUND: 'TS_ERR_NOT_FOUND',
  /** The route exists but not for this method. */
  METHOD_NOT_ALLOWED: 'TS_ERR_METHOD_NOT_ALLOWED',
  /** A WebSocket endpoint was asked for without `Upgrade: websocket`. */
  UPGRADE_REQUIRED: 'TS_ERR_UPGRADE_REQUIRED',
  /**
   * A subscription names no symbol: an empty list, or a JSON body or WebSocket message without
   * `symbols`. Every symbol is asked for with `"*"`, never by leaving the list empty.
   */
  NO_SYMBOLS: 'TS_ERR_NO_SYMBOLS',
  /** A WebSocket message is not valid JSON or not a known operation. */
  BAD_MESSAGE: 'TS_ERR_BAD_MESSAGE',
  /**
   * The server requires a token and the request has none, or one that is malformed, expired, signed
   * with another key or algorithm, or lacks a claim (`details.reason` says which; never the token).
   */
  UNAUTHORIZED: 'TS_ERR_UNAUTHORIZED',
  /** The token does not allow the asked symbols, or the request's Origin is not allowed. */
  FORBIDDEN: 'TS_ERR_FORBIDDEN',
  /** A bounded resource is full (parked long polls, connections); retry after `Retry-After`. */
  OVERLOADED: 'TS_ERR_OVERLOADED',
  /** The server is draining for shutdown. */
  SHUTTING_DOWN: 'TS_ERR_SHUTTING_DOWN',
  /** A bug on our side; the request is answered, the process goes on. */
  INTERNAL: 'TS_ERR_INTERNAL',
  /** An event-stream line exceeded the parser's `maxLineBytes` and was dropped. */
  SSE_LINE_TOO_LONG: 'TS_ERR_SSE_LINE_TOO_LONG',
  /** A scenario file failed to parse or validate; `details.problems` lists every problem. */
  INVALID_SCENARIO: 'TS_ERR_INVALID_SCENARIO',
  /** A result directory is missing, not a tickstorm result, of another schema version, or invalid. */
  INVALID_RESULT: 'TS_ERR_INVALID_RESULT',
  /** The command line could not be understood. */
  USAGE: 'TS_ERR_USAGE',
  /** Redis could not be reached (or answered with an error) at the configured URL. */
  REDIS_UNAVAILABLE: 'TS_ERR_REDIS_UNAVAILABLE',
  /** Redis holds no tickstorm feed under the key prefix, or one of another market or format. */
  FEED_MISMATCH: 'TS_ERR_FEED_MISMATCH',
  /**
   * A market tape (LOBSTER, DBN, ITCH) is not what its format says; the message names the file,
   * the byte offset or line, and what was expected there.
   */
  INVALID_TAPE: 'TS_ERR_INVALID_TAPE',
} as const

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES]

export class TickstormError extends Error {
  readonly code: ErrorCode
  readonly details: Readonly<Record<string, unknown>> | undefined

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'TickstormError'
    this.code = code
    this.details = options.details
  }
}

/**
 * Collects every validation problem before failing, so a user fixes a config in one pass
 * (k6's `Validate() []error`). Each problem names its path and the bad value.
 */
export class Problems {
  readonly #list: string[] = []

  add(path: string, expectation: string, got: unknown): void {
    this.#list.push(`\`${path}\` ${expectation}, got ${describe(got)}`)
  }

  get list(): readonly string[] {
    return this.#list
  }

  /** Throws one TS_ERR_INVALID_OPTIONS listing every problem, if there are any. */
  throwIfAny(what: string): void {
    if (this.#list.length === 0) return
    throw new TickstormError(
      ERROR_CODES.INVALID_OPTIONS,
      `invalid ${what}:\n  - ${this.#list.join('\n  - ')}`,
      { details: { problems: [...this.#list] } },
    )
  }

  /**
   * Runs another resolver and takes over its problems instead of letting it throw, so options
   * spread over several resolvers are still reported in one pass.
   */
  absorb<T>(resolve: () => T): T | undefined {
    try {
      return resolve()
    } catch (error) {
      const problems = error instanceof TickstormError ? error.details?.['problems'] : undefined
      if (
        error instanceof TickstormError &&
        error.code === ERROR_CODES.INVALID_OPTIONS &&
        Array.isArray(problems)
      ) {
        this.#list.push(...(problems as string[]))
        return undefined
      }
      throw error
    }
  }

  /** Checks an integer in [min, max]; returns whether it passed. */
  int(path: string, value: unknown, min: number, max: number): value is number {
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) {
      return true
    }
    this.add(path, `must be an integer from ${min} to ${max}`, value)
    return false
  }

  /** Checks a finite number in [min, max]; returns whether it passed. */
  number(path: string, value: unknown, min: number, max: number): value is number {
    if (typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max) {
      return true
    }
    this.add(path, `must be a number from ${min} to ${max}`, value)
    return false
  }

  /** Checks membership in a fixed set of strings; returns whether it passed. */
  oneOf<T extends string>(path: string, value: unknown, allowed: readonly T[]): value is T {
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return true
    this.add(path, `must be one of ${allowed.join(', ')}`, value)
    return false
  }

  /** Reports keys of `given` that `known` does not have (an unknown key is an error). */
  unknownKeys(path: string, given: object, known: object): void {
    for (const key of Object.keys(given)) {
      if (!Object.hasOwn(known, key))
        this.add(`${path}${path ? '.' : ''}${key}`, 'is not a known option', key)
    }
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (value === undefined) return 'undefined'
  if (typeof value === 'number' || typeof value === 'boolean' || value === null)
    return String(value)
  try {
    return JSON.stringify(value)
  } catch {
    // A cyclic or exotic value: its type is still worth saying.
    return typeof value
  }
}
