import { nowUs } from '../clock.js'
import { ERROR_CODES, type ErrorCode, TickstormError } from '../errors.js'
import type { EventLog } from '../feed/event-log.js'
import { createFeed } from '../feed/feed.js'
import { createMarket } from '../market/market.js'
import type { Market } from '../market/types.js'
import { formatPrice } from '../wire/tick-json.js'
import {
  authorizeSubscription,
  bearerChallenge,
  createAuthenticator,
  type Grant,
  OPEN_GRANT,
  TOKEN_QUERY,
  tokenOf,
} from './auth.js'
import { CLIENT_ID, createClientRegistry } from './client-registry.js'
import {
  type CorsDecision,
  createCorsPolicy,
  type HeaderList,
  PREFLIGHT_HEADERS,
  writeCorsHeaders,
} from './cors.js'
import { createFanout } from './fanout.js'
import { createGroupState, type GroupState } from './group-state.js'
import type { HealthDocument } from './health.js'
import {
  endWith,
  isHead,
  markHead,
  parseFlag,
  parseIntParam,
  parseQuery,
  readBody,
  sendError,
  sendJson,
} from './http.js'
import { createConnectionLimiter } from './limits.js'
import { listenApp } from './listen.js'
import { type HttpRequest, type HttpResponse, nativeUws } from './native-uws.js'
import { createPollHub } from './poll-hub.js'
import { createServerMetrics, type MetricsJson } from './prometheus.js'
import { catchUpFor, snapshotEvent } from './replay.js'
import {
  FEED_OPTION_KEYS,
  marketOptionsOf,
  pick,
  resolveServerOptions,
  type ServerOptions,
} from './server-options.js'
import type { ServerStats } from './server-stats.js'
import { createSseHub, drainRetryMs, headOfSse, shedSse } from './sse-hub.js'
import { defaultWebRoot, loadStaticFiles, type StaticFile } from './static-files.js'
import { parseSubscribeRequest } from './subscribe-request.js'
import {
  askedSymbols,
  createSymbolIndex,
  resolveSubscription,
  type Subscription,
} from './subscription.js'
import { createWsHub, type WsAdmit } from './ws-hub.js'

export type { ServerStats } from './server-stats.js'

/**
 * Where a server's events come from: by default its own market, paced in this process; or a copy
 * of another log (a worker thread fed by the main thread, an edge reading a Redis Stream). The
 * server starts it once it listens and stops it when it closes.
 */
export interface FeedSource extends EventLog {
  start(): void
  stop(): void
  /** Where the events come from and how that link is doing, for /healthz (`source`). */
  describe?(): Readonly<Record<string, unknown>>
}

/**
 * How a server that shares its port with others (the worker threads of `createCluster`) answers
 * for all of them: a client's connections may be on any of them, and /healthz and /metrics
 * describe the whole server. Without hooks every answer is this server's own.
 */
export interface ServerHooks {
  /** Cuts `clientId`'s connections wherever they are; resolves with how many. */
  dropClient?(clientId: string): Promise<number>
  /** The whole server's /healthz document. */
  health?(): Promise<HealthDocument>
  /** The whole server's /metrics exposition. */
  metrics?(): Promise<string>
  /**
   * This server is one of several on its port (a cluster's worker, whose port the cluster checked):
   * bind with SO_REUSEPORT. Otherwise the bind is exclusive and fails on a port anyone holds.
   */
  readonly sharesPort?: boolean
}

export interface TickstormServer {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string
  readonly host: string
  readonly port: number
  readonly options: ServerOptions
  readonly feed: FeedSource
  stats(): ServerStats
  /**
   * Cuts the connection of up to `count` SSE streams, parked long polls and WebSockets each, as a
   * network fault would (fault injection: clients reconnect and resume); returns how many.
   */
  dropStreams(count?: number): number
  /** Cuts this server's connections of one client (`POST /v1/drop` asks all servers, via hooks). */
  dropClient(clientId: string): number
  /** This server's own /healthz document. */
  health(): HealthDocument
  /** This server's metrics as prom-client JSON, to be added up with other servers'. */
  metricsJson(): Promise<MetricsJson>
  /**
   * Graceful shutdown: stop accepting, end every stream with a jittered `retry:` so the reconnect
   * storm is spread out (reference/sse.md §4.4), stop the feed, close every socket.
   */
  close(): Promise<void>
}

const STREAM_QUERY = ['symbols', 'lastEventId', 'snapshot', 'client', TOKEN_QUERY] as const
const POLL_QUERY = ['symbols', 'cursor', 'timeoutMs', 'client', TOKEN_QUERY] as const

/**
 * The routes and their methods, for 404 and 405 answers (`Allow`). Every GET route answers HEAD
 * too (RFC 9110 §9.3.2: a general-purpose server must; uptime monitors use it).
 */
const ROUTES: Readonly<Record<string, readonly string[]>> = {
  '/': ['GET', 'HEAD'],
  '/v1/stream': ['GET', 'HEAD', 'POST'],
  '/v1/poll': ['GET', 'HEAD'],
  '/v1/ws': ['GET', 'HEAD'],
  '/v1/snapshot': ['GET', 'HEAD'],
  '/v1/symbols': ['GET', 'HEAD'],
  '/healthz': ['GET', 'HEAD'],
  '/metrics': ['GET', 'HEAD'],
  '/v1/drop': ['POST'],
}

/** The request headers a token may come in, read before any await (uWS frees `req` on return). */
interface Credentials {
  readonly authorization: string
  readonly cookie: string
}
const NO_CREDENTIALS: Credentials = Object.freeze({ authorization: '', cookie: '' })

/**
 * The composition root: market → feed → fan-out → the SSE, long-poll and WebSocket hubs, wired to
 * uWebSockets.js routes, listening on `host:port`. Resolves once the port is bound.
 */
export async function createServer(
  partial: Partial<ServerOptions> = {},
  source?: (options: ServerOptions, market: Market) => FeedSource,
  hooks: ServerHooks = {},
): Promise<TickstormServer> {
  const uWS = nativeUws()
  const options = resolveServerOptions(partial)
  // The universe (/v1/symbols, initial quotes) comes from the market's options even when the
  // events come from elsewhere: the market is deterministic, so every copy has the same one.
  const market = createMarket(marketOptionsOf(options))
  const feed: FeedSource =
    source?.(options, market) ?? createFeed({ market }, pick(options, FEED_OPTION_KEYS))
  const symbolIndex = createSymbolIndex(feed.symbols)
  // Null without a configured key: every endpoint stays open, and nothing below awaits.
  const auth = await createAuthenticator(options, symbolIndex)
  const corsPolicy = createCorsPolicy(options.corsOrigins)
  let unauthorizedCount = 0
  let forbiddenCount = 0
  let shedStreams = 0

  /** Resolves the asked symbols, then checks them against the token's grant (403 if outside). */
  const subscriptionOf = (
    names: readonly string[] | null,
    grant: Grant,
    badInput: ErrorCode = ERROR_CODES.BAD_QUERY,
  ): Subscription => {
    const subscription = resolveSubscription(
      names,
      symbolIndex,
      options.maxSymbolsPerSubscription,
      badInput,
    )
    if (grant !== OPEN_GRANT) {
      try {
        authorizeSubscription(grant, subscription, symbolIndex)
      } catch (error) {
        forbiddenCount++
        throw error
      }
    }
    return subscription
  }

  /** The request's origin decision (cors.ts): made once, in the route handler, used by every answer. */
  const corsOf = (req: HttpRequest): CorsDecision =>
    corsPolicy.decide(req.getHeader('origin'), req.getHeader('host'))

  const credentialsOf = (req: HttpRequest): Credentials =>
    auth === null
      ? NO_CREDENTIALS
      : { authorization: req.getHeader('authorization'), cookie: req.getHeader('cookie') }

  /**
   * `/v1/*` refuses a page from an origin outside the allowlist with 403. The browser would block
   * the read anyway; refusing also spares the stream, and EventSource giving up for good on the
   * non-200 is right for a page that will never be allowed.
   */
  const checkOrigin = (cors: CorsDecision): void => {
    if (cors.allowed) return
    forbiddenCount++
    throw new TickstormError(
      ERROR_CODES.FORBIDDEN,
      'requests from this origin are not allowed (corsOrigins, --cors-origin)',
      { details: { reason: 'origin' } },
    )
  }

  /** Extra headers an error answer carries: the Bearer challenge on a 401 (RFC 6750 §3). */
  const challengeOf = (error: TickstormError): HeaderList =>
    error.code === ERROR_CODES.UNAUTHORIZED ? [['WWW-Authenticate', bearerChallenge(error)]] : []

  const guard = (res: HttpResponse, cors: CorsDecision, handler: () => void): void => {
    try {
      handler()
    } catch (error) {
      // A coded error is the client's; anything else is ours, still answered rather than thrown
      // through uWS (which would take the whole process down).
      const coded =
        error instanceof TickstormError
          ? error
          : new TickstormError(ERROR_CODES.INTERNAL, 'internal error', { cause: error })
      if (!(error instanceof TickstormError)) console.error(error)
      sendError(res, coded, cors, challengeOf(coded))
    }
  }

  /**
   * Continues a request with its token's grant. Without a key that is at once, synchronously, as
   * before. With one, jose verifies asynchronously, so (uWS's AsyncFunction rules): everything was
   * read from `req` already, `onAborted` is registered before the await, `res` is never touched
   * after an abort, and the answer is corked since it is written outside a uWS callback. `then`
   * may register its own `onAborted` (the hubs do), which replaces this one once it is not needed.
   */
  const withGrant = (
    res: HttpResponse,
    cors: CorsDecision,
    token: string | null,
    then: (grant: Grant) => void,
  ): void => {
    if (auth === null) {
      then(OPEN_GRANT)
      return
    }
    let aborted = false
    res.onAborted(() => {
      aborted = true
    })
    auth.verify(token).then(
      (grant) => {
        if (!aborted) res.cork(() => guard(res, cors, () => then(grant)))
      },
      (error: unknown) => {
        if (aborted) return
        const coded =
          error instanceof TickstormError
            ? error
            : new TickstormError(ERROR_CODES.INTERNAL, 'internal error while checking the token')
        if (coded.code === ERROR_CODES.UNAUTHORIZED) unauthorizedCount++
        sendError(res, coded, cors, challengeOf(coded))
      },
    )
  }

  /**
   * Answers once `pending` settles (a hook asking the other servers). uWS's AsyncFunction rules:
   * `onAborted` first (it replaces withGrant's), `res` never touched after an abort, and the answer
   * corked, as every write made outside a uWS callback must be.
   */
  const answerLater = <T>(
    res: HttpResponse,
    cors: CorsDecision,
    pending: Promise<T>,
    answer: (value: T) => void,
  ): void => {
    let aborted = false
    res.onAborted(() => {
      aborted = true
    })
    pending.then(
      (value) => {
        if (!aborted) res.cork(() => guard(res, cors, () => answer(value)))
      },
      (error: unknown) => {
        console.error(error)
        if (!aborted) {
          sendError(res, new TickstormError(ERROR_CODES.INTERNAL, 'internal error'), cors)
        }
      },
    )
  }

  /**
   * Continues a resume once this server's log has the id it names (catchUpFor); at once when there
   * is nothing to wait for. Same AsyncFunction rules as withGrant.
   */
  const afterCatchUp = (
    res: HttpResponse,
    cors: CorsDecision,
    id: string | null,
    then: () => void,
  ): void => {
    const waiting = catchUpFor(feed, id)
    if (waiting === null) {
      then()
      return
    }
    let aborted = false
    res.onAborted(() => {
      aborted = true
    })
    void waiting.then(() => {
      if (!aborted) res.cork(() => guard(res, cors, then))
    })
  }

  const tokenFrom = (
    credentials: Credentials,
    cors: CorsDecision,
    query: string | null | undefined,
  ): string | null =>
    auth === null
      ? null
      : tokenOf(credentials.authorization, credentials.cookie, cors.trusted, query)

  /** WebSocket admission, before the upgrade: origin, then token; a refusal is a JSON 4xx. */
  const admitSocket: WsAdmit = (res, req, accept) => {
    const cors = corsOf(req)
    const credentials = credentialsOf(req)
    const queryToken = auth === null ? undefined : req.getQuery(TOKEN_QUERY)
    guard(res, cors, () => {
      checkOrigin(cors)
      withGrant(res, cors, tokenFrom(credentials, cors, queryToken), accept)
    })
  }

  const app = uWS.App()
  const fanout = createFanout<GroupState>(feed.symbols.length, createGroupState)
  const clients = createClientRegistry()
  const limiter = createConnectionLimiter(options)
  const hub = createSseHub(feed, fanout, clients, limiter, options)
  const polls = createPollHub(feed, fanout, clients, limiter, options)
  const sockets = createWsHub(
    app,
    feed,
    fanout,
    (names, grant) => subscriptionOf(names, grant, ERROR_CODES.BAD_MESSAGE),
    clients,
    limiter,
    options,
    admitSocket,
  )
  const webRoot = options.webRoot ?? defaultWebRoot()
  const staticFiles = webRoot === null ? new Map<string, StaticFile>() : loadStaticFiles(webRoot)
  const startedAt = Date.now()
  let draining = false
  let lastFanoutUs = 0
  let maxFanoutUs = 0
  const metrics = createServerMetrics(() => currentStats())

  // One pass per frame: events are filtered once per subscription group, then each transport
  // writes that group's bytes, built once, to its members.
  const unsubscribeFrames = feed.onFrame((frame) => {
    const startedUs = nowUs()
    const lastSeq = frame.events[frame.events.length - 1]!.seq
    fanout.publish(frame, (group) => {
      hub.deliver(group, lastSeq)
      polls.deliver(group, lastSeq)
      sockets.deliver(group, lastSeq)
    })
    lastFanoutUs = nowUs() - startedUs
    if (lastFanoutUs > maxFanoutUs) maxFanoutUs = lastFanoutUs
    metrics.observeFanoutUs(lastFanoutUs)
  })
  // Every timer the server has: one heartbeat for all connections, one housekeeping tick.
  const heartbeatTimer = setInterval(() => {
    hub.heartbeat()
    sockets.heartbeat()
  }, options.heartbeatMs)
  const housekeepingTimer = setInterval(() => {
    hub.enforceDeadlines()
    polls.sweep()
  }, 100)

  /** Sheds a stream request while draining: 200 + `retry:` + end, never 503 (EventSource would give up). */
  const shedStream = (res: HttpResponse, cors: CorsDecision): void => {
    shedStreams++
    shedSse(res, cors, drainRetryMs(options))
  }

  /**
   * A GET route that answers HEAD with the same handler: same checks, status and headers, and
   * `endWith` leaves the content out. A stream route asks `isHead` before opening anything.
   */
  const getAndHead = (pattern: string, handler: (res: HttpResponse, req: HttpRequest) => void) => {
    app.get(pattern, handler)
    app.head(pattern, (res, req) => {
      markHead(res)
      handler(res, req)
    })
  }

  getAndHead('/v1/stream', (res, req) => {
    const lastEventIdHeader = req.getHeader('last-event-id')
    const query = req.getQuery() ?? ''
    const cors = corsOf(req)
    const credentials = credentialsOf(req)
    guard(res, cors, () => {
      checkOrigin(cors)
      if (draining) return shedStream(res, cors)
      const params = parseQuery(query, STREAM_QUERY)
      const names = askedSymbols(params.get('symbols'), 'query', ERROR_CODES.BAD_QUERY)
      const snapshot = parseFlag('snapshot', params.get('snapshot'), true)
      // The header wins: a browser EventSource keeps its original URL (with any lastEventId
      // query) and sends the newer id in the header when it reconnects.
      const lastEventId = lastEventIdHeader !== '' ? lastEventIdHeader : params.get('lastEventId')
      const clientId = clientIdParam(params)
      withGrant(res, cors, tokenFrom(credentials, cors, params.get(TOKEN_QUERY)), (grant) => {
        if (draining) return shedStream(res, cors)
        const subscription = subscriptionOf(names, grant)
        if (isHead(res)) return headOfSse(res, cors)
        afterCatchUp(res, cors, lastEventId, () =>
          hub.open(res, subscription, { lastEventId, snapshot, clientId, cors }),
        )
      })
    })
  })

  app.post('/v1/stream', (res, req) => {
    const lastEventIdHeader = req.getHeader('last-event-id')
    const query = req.getQuery() ?? ''
    const declaredLength = Number(req.getHeader('content-length') || 0)
    const cors = corsOf(req)
    const credentials = credentialsOf(req)
    let aborted = false
    res.onAborted(() => {
      aborted = true
    })
    if (!cors.allowed) return guard(res, cors, () => checkOrigin(cors))
    if (draining) return shedStream(res, cors)
    readBody(
      res,
      options.maxBodyBytes,
      declaredLength,
      (body) => {
        if (aborted) return
        guard(res, cors, () => {
          const request = parseSubscribeRequest(parseJsonBody(body), ERROR_CODES.BAD_JSON)
          const lastEventId = lastEventIdHeader !== '' ? lastEventIdHeader : request.lastEventId
          const params = parseQuery(query, ['client', TOKEN_QUERY])
          const clientId = clientIdParam(params)
          withGrant(res, cors, tokenFrom(credentials, cors, params.get(TOKEN_QUERY)), (grant) => {
            if (draining) return shedStream(res, cors)
            const subscription = subscriptionOf(request.symbols, grant, ERROR_CODES.BAD_JSON)
            afterCatchUp(res, cors, lastEventId, () =>
              hub.open(res, subscription, {
                lastEventId,
                snapshot: request.snapshot,
                clientId,
                cors,
              }),
            )
          })
        })
      },
      (error) => {
        if (!aborted) sendError(res, error, cors)
      },
    )
  })

  getAndHead('/v1/poll', (res, req) => {
    const query = req.getQuery() ?? ''
    const cors = corsOf(req)
    const credentials = credentialsOf(req)
    guard(res, cors, () => {
      checkOrigin(cors)
      if (draining) {
        throw new TickstormError(ERROR_CODES.SHUTTING_DOWN, 'the server is shutting down')
      }
      const params = parseQuery(query, POLL_QUERY)
      const names = askedSymbols(params.get('symbols'), 'query', ERROR_CODES.BAD_QUERY)
      const timeoutMs = parseIntParam(
        'timeoutMs',
        params.get('timeoutMs'),
        options.pollTimeoutMs,
        options.maxPollTimeoutMs,
      )
      const request = {
        cursor: params.get('cursor'),
        timeoutMs,
        clientId: clientIdParam(params),
        cors,
      }
      withGrant(res, cors, tokenFrom(credentials, cors, params.get(TOKEN_QUERY)), (grant) => {
        if (draining) {
          throw new TickstormError(ERROR_CODES.SHUTTING_DOWN, 'the server is shutting down')
        }
        const subscription = subscriptionOf(names, grant)
        // A HEAD parks nothing: the JSON headers a poll's answer has, without its (unknown) length.
        if (isHead(res)) return sendJson(res, 200, null, cors)
        afterCatchUp(res, cors, request.cursor, () => polls.handle(res, subscription, request))
      })
    })
  })

  // Cuts the connections of one client, as a network fault would: the demo page's "drop
  // connection" button, so people can watch EventSource reconnect and resume with no gap. With a
  // key configured it takes a valid token too (any symbols): it acts on other connections.
  app.post('/v1/drop', (res, req) => {
    const query = req.getQuery() ?? ''
    const cors = corsOf(req)
    const credentials = credentialsOf(req)
    guard(res, cors, () => {
      checkOrigin(cors)
      const params = parseQuery(query, ['client', TOKEN_QUERY])
      const clientId = clientIdParam(params)
      if (clientId === null) {
        throw new TickstormError(ERROR_CODES.BAD_QUERY, 'client is required: the id the page used')
      }
      withGrant(res, cors, tokenFrom(credentials, cors, params.get(TOKEN_QUERY)), () => {
        const answer = (dropped: number) =>
          sendJson(res, 200, JSON.stringify({ client: clientId, dropped }), cors)
        if (hooks.dropClient === undefined) answer(clients.cut(clientId))
        else answerLater(res, cors, hooks.dropClient(clientId), answer)
      })
    })
  })

  getAndHead('/v1/snapshot', (res, req) => {
    const query = req.getQuery() ?? ''
    const cors = corsOf(req)
    const credentials = credentialsOf(req)
    guard(res, cors, () => {
      checkOrigin(cors)
      const params = parseQuery(query, ['symbols', TOKEN_QUERY])
      const names = askedSymbols(params.get('symbols'), 'query', ERROR_CODES.BAD_QUERY)
      withGrant(res, cors, tokenFrom(credentials, cors, params.get(TOKEN_QUERY)), (grant) => {
        const subscription = subscriptionOf(names, grant)
        sendJson(res, 200, snapshotEvent(feed, subscription, false).json, cors)
      })
    })
  })

  // The universe never changes while the server runs, so its document is built once.
  const symbolsJson = JSON.stringify({
    count: market.instruments.length,
    symbols: market.instruments.map((instrument) => ({
      symbol: instrument.symbol,
      tickSize: Number(formatPrice(instrument.tickUnits)),
      lotSize: instrument.lotSize,
      startPrice: Number(formatPrice(instrument.startPrice)),
    })),
  })
  getAndHead('/v1/symbols', (res, req) => {
    const query = req.getQuery() ?? ''
    const cors = corsOf(req)
    guard(res, cors, () => {
      checkOrigin(cors)
      // access_token is accepted (and not needed) so a client may send it everywhere.
      parseQuery(query, [TOKEN_QUERY])
      sendJson(res, 200, symbolsJson, cors)
    })
  })

  const healthDocument = (): HealthDocument => {
    const stats = currentStats()
    return {
      status: draining ? 'draining' : 'ok',
      uptimeMs: stats.uptimeMs,
      preset: options.preset,
      seed: options.seed,
      symbols: feed.symbols.length,
      headSeq: stats.feed.headSeq,
      source: feed.describe?.() ?? { kind: 'market' },
      connections: {
        sse: stats.sse.connections,
        poll: stats.poll.parked,
        ws: stats.ws.connections,
      },
      pacing: {
        frameMs: options.frameMs,
        lastLagMs: stats.feed.lastLagUs / 1000,
        maxLagMs: stats.feed.maxLagUs / 1000,
        meanLagMs: stats.feed.meanLagUs / 1000,
      },
      fanout: { lastUs: stats.lastFanoutUs, maxUs: stats.maxFanoutUs, groups: fanout.size },
      sse: stats.sse,
      poll: stats.poll,
      ws: stats.ws,
    }
  }

  getAndHead('/healthz', (res, req) => {
    const cors = corsOf(req)
    const answer = (health: HealthDocument) =>
      sendJson(res, health.status === 'ok' ? 200 : 503, JSON.stringify(health), cors)
    if (hooks.health === undefined) answer(healthDocument())
    else answerLater(res, cors, hooks.health(), answer)
  })

  // Prometheus scrape. Open like /healthz (operational data, no market data): restrict it on the
  // network if needed. prom-client renders asynchronously, hence the AsyncFunction pattern.
  getAndHead('/metrics', (res, req) => {
    const cors = corsOf(req)
    answerLater(res, cors, hooks.metrics?.() ?? metrics.render(), (text) => {
      res.writeStatus('200 OK')
      writeCorsHeaders(res, cors)
      res.writeHeader('Content-Type', metrics.contentType)
      res.writeHeader('Cache-Control', 'no-store')
      endWith(res, text)
    })
  })

  getAndHead('/*', (res, req) => {
    const cors = corsOf(req)
    const file = staticFiles.get(req.getUrl())
    if (file !== undefined) {
      res.cork(() => {
        res.writeStatus('200 OK')
        writeCorsHeaders(res, cors)
        res.writeHeader('Content-Type', file.contentType)
        res.writeHeader('Cache-Control', 'no-cache')
        endWith(res, file.bytes)
      })
      return
    }
    const path = req.getUrl()
    if (path !== '/') {
      noRoute(res, isHead(res) ? 'HEAD' : 'GET', path, cors)
      return
    }
    sendJson(
      res,
      200,
      JSON.stringify({
        name: 'tickstorm',
        page: 'not built: run `npm run build` for the live ticker page',
        endpoints: {
          'GET /v1/stream?symbols=AAPL,MSFT': 'Server-Sent Events: quote, trade, status, snapshot',
          'POST /v1/stream':
            'the same stream, subscribed with a JSON body {"symbols": [...]} or {"symbols": "*"}',
          'GET /v1/poll?symbols=…&cursor=…': 'long polling: the events after cursor, as JSON',
          'GET /v1/ws': 'WebSocket: send {"op":"subscribe","symbols":[...],"lastEventId"?}',
          'GET /v1/snapshot?symbols=…': 'latest values as JSON',
          'GET /v1/symbols': 'the instrument universe',
          'GET /healthz': 'liveness, pacing lag and connection counts',
          'GET /metrics': 'Prometheus metrics',
        },
      }),
      cors,
    )
  })

  // CORS preflight. A reconnect carrying Last-Event-ID may need one (reference/sse.md §4.3); a
  // fetch with a bearer token needs one. An origin outside the allowlist gets no Allow-* headers,
  // so the browser fails the preflight and never sends the request.
  app.options('/*', (res, req) => {
    const cors = corsOf(req)
    res.cork(() => {
      res.writeStatus('204 No Content')
      writeCorsHeaders(res, cors)
      if (cors.allowed) for (const [name, value] of PREFLIGHT_HEADERS) res.writeHeader(name, value)
      res.endWithoutBody()
    })
  })

  app.any('/*', (res, req: HttpRequest) => {
    noRoute(res, req.getCaseSensitiveMethod(), req.getUrl(), corsOf(req))
  })

  /**
   * What no handler took: 405 with `Allow` on a route that lacks the method (a HEAD's without
   * content, as every answer to HEAD), 426 for /v1/ws without an upgrade, 404 elsewhere.
   */
  const noRoute = (res: HttpResponse, method: string, path: string, cors: CorsDecision): void => {
    const allowed = ROUTES[path]
    if (allowed === undefined) {
      sendError(
        res,
        new TickstormError(ERROR_CODES.NOT_FOUND, `no route for ${method} ${path}`, {
          details: { routes: Object.keys(ROUTES) },
        }),
        cors,
      )
    } else if (allowed.includes(method)) {
      // Only /v1/ws gets here: uWS hands its handler only requests that ask for an upgrade.
      sendError(
        res,
        new TickstormError(
          ERROR_CODES.UPGRADE_REQUIRED,
          `${path} is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)`,
        ),
        cors,
        [['Upgrade', 'websocket']],
      )
    } else {
      sendError(
        res,
        new TickstormError(
          ERROR_CODES.METHOD_NOT_ALLOWED,
          `${method} is not allowed on ${path}; use ${allowed.join(', ')}`,
        ),
        cors,
        [['Allow', [...allowed, 'OPTIONS'].join(', ')]],
      )
    }
  }

  const currentStats = (): ServerStats => ({
    uptimeMs: Date.now() - startedAt,
    feed: feed.stats(),
    sse: hub.stats(),
    poll: polls.stats(),
    ws: sockets.stats(),
    lastFanoutUs,
    maxFanoutUs,
    shedStreams,
    auth: { unauthorized: unauthorizedCount, forbidden: forbiddenCount },
  })

  const listenSocket = await listenApp(app, options.host, options.port, hooks.sharesPort === true)
  const port = uWS.us_socket_local_port(listenSocket)
  feed.start()

  let closing: Promise<void> | undefined
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    host: options.host,
    port,
    options,
    feed,
    stats: currentStats,
    dropStreams: (count = Number.POSITIVE_INFINITY) =>
      hub.dropStreams(count) + polls.dropParked(count) + sockets.dropSockets(count),
    dropClient: (clientId) => clients.cut(clientId),
    health: healthDocument,
    metricsJson: () => metrics.json(),
    close() {
      closing ??= new Promise<void>((resolve) => {
        draining = true
        uWS.us_listen_socket_close(listenSocket)
        feed.stop()
        unsubscribeFrames()
        clearInterval(heartbeatTimer)
        clearInterval(housekeepingTimer)
        hub.drain()
        polls.drain()
        sockets.drain()
        // Let the ends flush before every remaining socket (idle keep-alives too) is closed.
        setImmediate(() => {
          ;(app as unknown as { close(): void }).close()
          resolve()
        })
      })
      return closing
    },
  }
}

/** The optional `client` parameter: the page's own id, so it can have its connection cut. */
function clientIdParam(params: URLSearchParams): string | null {
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

function parseJsonBody(body: Buffer): unknown {
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
