import { ERROR_CODES, type ErrorCode, TickstormError } from '../errors.js'
import type { EventLog } from '../feed/event-log.js'
import {
  type Authenticator,
  authorizeSubscription,
  bearerChallenge,
  type Grant,
  OPEN_GRANT,
  tokenOf,
} from './auth.js'
import { CLIENT_ID } from './client-registry.js'
import type { CorsDecision, CorsPolicy, HeaderList } from './cors.js'
import { markHead, sendError } from './http.js'
import type { HttpRequest, HttpResponse, TemplatedApp } from './native-uws.js'
import { catchUpFor } from './replay.js'
import { resolveSubscription, type Subscription, type SymbolIndex } from './subscription.js'

/**
 * uWS's rule for an answer that comes after an await (its `AsyncFunction` example): register
 * `onAborted` before anything else, never touch `res` once it fired, and cork the late write,
 * since a write made outside a uWS callback is otherwise sent piecemeal. Every route that waits
 * (a token check, a resume catching up, a question to the other workers) goes through here.
 * A later `onAborted` (a stream's own) replaces this one once it is no longer needed.
 */
export function answerLater<T>(
  res: HttpResponse,
  pending: Promise<T>,
  answer: (value: T) => void,
  fail: (error: unknown) => void,
  how: LateAnswer = 'write',
): void {
  let aborted = false
  res.onAborted(() => {
    aborted = true
  })
  pending.then(
    (value) => {
      if (aborted) return
      if (how === 'upgrade') answer(value)
      else res.cork(() => answer(value))
    },
    (error: unknown) => {
      if (!aborted) res.cork(() => fail(error))
    },
  )
}

/**
 * What a late answer does: writes a response (corked), or upgrades the socket to a WebSocket
 * (not corked). After its callback, uWS's `HttpResponse.cork` goes on as if the socket were still
 * an HTTP response unless the upgrade moved the socket's memory. When the upgrade's reallocation
 * stays in place (heap luck: after earlier servers in the process, often) it shut the new
 * WebSocket down there, inside `cork`, right after its `open`: the client saw 1006, no close
 * frame. Uncorked, `upgrade` writes its 101 by itself (in several small writes) and nothing of
 * uWS's runs after it. Upstream: uNetworking/uWebSockets#1928 (uWebSockets.js#1108), fixed by
 * uWebSockets PR #1929, which this build predates; a refusal is still corked (`guard`).
 */
export type LateAnswer = 'write' | 'upgrade'

/** The refusal of a poll or an upgrade that arrives (or whose token check ends) while draining. */
export function shuttingDown(): TickstormError {
  return new TickstormError(ERROR_CODES.SHUTTING_DOWN, 'the server is shutting down')
}

/** The request headers a token may come in, read before any await (uWS frees `req` on return). */
export interface Credentials {
  readonly authorization: string
  readonly cookie: string
}
const NO_CREDENTIALS: Credentials = Object.freeze({ authorization: '', cookie: '' })

/** What a request handler reads from `req` at once: its origin decision and its credentials. */
export interface RequestStart {
  readonly cors: CorsDecision
  readonly credentials: Credentials
}

/**
 * The steps every route shares, from `req` to an answer: the origin check, the token and its
 * grant, the subscription it allows, errors as coded JSON, waiting for a resume point. Routes
 * (the transports' and the info routes) are written as one pass through these.
 */
export interface RequestFlow {
  /** Reads the origin decision and the credentials from `req` (before any await). */
  start(req: HttpRequest): RequestStart
  /** Runs `handler`; an error it throws is answered as coded JSON (never thrown through uWS). */
  guard(res: HttpResponse, cors: CorsDecision, handler: () => void): void
  /** `/v1/*` refuses a page from an origin outside the allowlist with 403. */
  checkOrigin(cors: CorsDecision): void
  /** The token a request carries (header, cookie for a trusted origin, or query), or null. */
  tokenOf(start: RequestStart, query: string | null | undefined): string | null
  /**
   * Continues with the token's grant: at once without a key; after jose's check with one.
   * `how` is 'upgrade' when `then` upgrades the socket to a WebSocket (LateAnswer).
   */
  withGrant(
    res: HttpResponse,
    cors: CorsDecision,
    token: string | null,
    then: (grant: Grant) => void,
    how?: LateAnswer,
  ): void
  /** Resolves the asked symbols and checks them against the grant (403 if outside). */
  subscriptionOf(names: readonly string[] | null, grant: Grant, badInput?: ErrorCode): Subscription
  /** Continues a resume once this server's log has the id it names (catchUpFor). */
  afterCatchUp(res: HttpResponse, cors: CorsDecision, id: string | null, then: () => void): void
  /** Answers once `pending` settles, under the abort-and-cork rule; a failure is a 500. */
  later<T>(
    res: HttpResponse,
    cors: CorsDecision,
    pending: Promise<T>,
    answer: (value: T) => void,
  ): void
  /** Mounts `handler` for GET, and for HEAD with the response marked (`endWith` drops content). */
  getAndHead(
    app: TemplatedApp,
    pattern: string,
    handler: (res: HttpResponse, req: HttpRequest) => void,
  ): void
  /** Whether the server drains (shutdown): new connections are turned away. */
  readonly draining: boolean
  /** 401 and 403 answers so far. */
  readonly unauthorized: number
  readonly forbidden: number
}

export interface RequestFlowDeps {
  readonly feed: EventLog
  readonly symbolIndex: SymbolIndex
  readonly maxSymbolsPerSubscription: number
  /** Null without a configured key: every endpoint stays open, and nothing awaits. */
  readonly auth: Authenticator | null
  readonly cors: CorsPolicy
  readonly draining: () => boolean
}

export function createRequestFlow(deps: RequestFlowDeps): RequestFlow {
  const { auth } = deps
  let unauthorized = 0
  let forbidden = 0

  /** Extra headers an error answer carries: the Bearer challenge on a 401 (RFC 6750 §3). */
  const challengeOf = (error: TickstormError): HeaderList =>
    error.code === ERROR_CODES.UNAUTHORIZED ? [['WWW-Authenticate', bearerChallenge(error)]] : []

  /** A coded error is the client's; anything else is ours, logged and answered as a 500. */
  const answerError = (res: HttpResponse, cors: CorsDecision, error: unknown): void => {
    const coded =
      error instanceof TickstormError
        ? error
        : new TickstormError(ERROR_CODES.INTERNAL, 'internal error', { cause: error })
    if (!(error instanceof TickstormError)) console.error(error)
    sendError(res, coded, cors, challengeOf(coded))
  }

  const guard = (res: HttpResponse, cors: CorsDecision, handler: () => void): void => {
    try {
      handler()
    } catch (error) {
      // Corked even where the handler ran uncorked (a late upgrade's, LateAnswer): one write.
      res.cork(() => answerError(res, cors, error))
    }
  }

  return {
    start: (req) => ({
      cors: deps.cors.decide(req.getHeader('origin'), req.getHeader('host')),
      credentials:
        auth === null
          ? NO_CREDENTIALS
          : { authorization: req.getHeader('authorization'), cookie: req.getHeader('cookie') },
    }),
    guard,
    checkOrigin(cors) {
      if (cors.allowed) return
      forbidden++
      // The browser would block the read anyway; refusing also spares the stream, and
      // EventSource giving up for good on the non-200 is right for a page never allowed.
      throw new TickstormError(
        ERROR_CODES.FORBIDDEN,
        'requests from this origin are not allowed (corsOrigins, --cors-origin)',
        { details: { reason: 'origin' } },
      )
    },
    tokenOf: (start, query) =>
      auth === null
        ? null
        : tokenOf(
            start.credentials.authorization,
            start.credentials.cookie,
            start.cors.trusted,
            query,
          ),
    withGrant(res, cors, token, then, how = 'write') {
      if (auth === null) {
        then(OPEN_GRANT)
        return
      }
      answerLater(
        res,
        auth.verify(token),
        (grant) => guard(res, cors, () => then(grant)),
        (error) => {
          const coded =
            error instanceof TickstormError
              ? error
              : new TickstormError(ERROR_CODES.INTERNAL, 'internal error while checking the token')
          if (coded.code === ERROR_CODES.UNAUTHORIZED) unauthorized++
          sendError(res, coded, cors, challengeOf(coded))
        },
        how,
      )
    },
    subscriptionOf(names, grant, badInput = ERROR_CODES.BAD_QUERY) {
      const subscription = resolveSubscription(
        names,
        deps.symbolIndex,
        deps.maxSymbolsPerSubscription,
        badInput,
      )
      if (grant !== OPEN_GRANT) {
        try {
          authorizeSubscription(grant, subscription, deps.symbolIndex)
        } catch (error) {
          forbidden++
          throw error
        }
      }
      return subscription
    },
    afterCatchUp(res, cors, id, then) {
      const waiting = catchUpFor(deps.feed, id)
      if (waiting === null) then()
      else answerLater(res, waiting, () => guard(res, cors, then), console.error)
    },
    later(res, cors, pending, answer) {
      answerLater(
        res,
        pending,
        (value) => guard(res, cors, () => answer(value)),
        (error) => {
          console.error(error)
          sendError(res, new TickstormError(ERROR_CODES.INTERNAL, 'internal error'), cors)
        },
      )
    },
    getAndHead(app, pattern, handler) {
      app.get(pattern, handler)
      app.head(pattern, (res, req) => {
        markHead(res)
        handler(res, req)
      })
    },
    get draining() {
      return deps.draining()
    },
    get unauthorized() {
      return unauthorized
    },
    get forbidden() {
      return forbidden
    },
  }
}

/** The optional `client` parameter: the page's own id, so it can have its connection cut. */
export function clientIdParam(params: URLSearchParams): string | null {
  const value = params.get('client')
  if (value === null) return null
  if (!CLIENT_ID.test(value)) {
    throw new TickstormError(
      ERROR_CODES.BAD_QUERY,
      `client must be 1–64 letters, digits, '-' or '_', got ${JSON.stringify(value.slice(0, 80))}`,
    )
  }
  return value
}
