import { nowUs } from '../clock.js'
import { ERROR_CODES, TickstormError } from '../errors.js'
import { createFeed, type Feed, type FeedStats } from '../feed/feed.js'
import { createMarket } from '../market/market.js'
import { encodeSseRetry } from '../wire/sse-frame.js'
import { formatPrice } from '../wire/tick-json.js'
import { CLIENT_ID, createClientRegistry } from './client-registry.js'
import { createFanout } from './fanout.js'
import { createGroupState, type GroupState } from './group-state.js'
import {
  parseFlag,
  parseIntParam,
  parseQuery,
  parseSymbolsParam,
  readBody,
  sendError,
  sendJson,
  writeCommonHeaders,
} from './http.js'
import {
  type HttpRequest,
  type HttpResponse,
  nativeUws,
  type us_listen_socket,
} from './native-uws.js'
import { createPollHub, type PollHubStats } from './poll-hub.js'
import { snapshotEvent } from './replay.js'
import {
  FEED_OPTION_KEYS,
  marketOptionsOf,
  pick,
  resolveServerOptions,
  type ServerOptions,
} from './server-options.js'
import { createSseHub, drainRetryMs, type SseHubStats } from './sse-hub.js'
import { defaultWebRoot, loadStaticFiles, type StaticFile } from './static-files.js'
import { parseSubscribeRequest } from './subscribe-request.js'
import { createSymbolIndex, resolveSubscription, type Subscription } from './subscription.js'
import { createWsHub, type WsHubStats } from './ws-hub.js'

export interface ServerStats {
  readonly uptimeMs: number
  readonly feed: FeedStats
  readonly sse: SseHubStats
  readonly poll: PollHubStats
  readonly ws: WsHubStats
  /** Time to fan one frame out over every transport: the last and the worst. */
  readonly lastFanoutUs: number
  readonly maxFanoutUs: number
}

export interface TickstormServer {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string
  readonly host: string
  readonly port: number
  readonly options: ServerOptions
  readonly feed: Feed
  stats(): ServerStats
  /**
   * Cuts the connection of up to `count` SSE streams, parked long polls and WebSockets each, as a
   * network fault would (fault injection: clients reconnect and resume); returns how many.
   */
  dropStreams(count?: number): number
  /**
   * Graceful shutdown: stop accepting, end every stream with a jittered `retry:` so the reconnect
   * storm is spread out (reference/sse.md §4.4), stop the feed, close every socket.
   */
  close(): Promise<void>
}

const STREAM_QUERY = ['symbols', 'lastEventId', 'snapshot', 'client'] as const
const POLL_QUERY = ['symbols', 'cursor', 'timeoutMs', 'client'] as const

/** The routes, for 405 answers and the index document. */
const ROUTES: Readonly<Record<string, readonly string[]>> = {
  '/': ['GET'],
  '/v1/stream': ['GET', 'POST'],
  '/v1/poll': ['GET'],
  '/v1/ws': ['GET'],
  '/v1/snapshot': ['GET'],
  '/v1/symbols': ['GET'],
  '/healthz': ['GET'],
  '/v1/drop': ['POST'],
}

/**
 * The composition root: market → feed → fan-out → the SSE, long-poll and WebSocket hubs, wired to
 * uWebSockets.js routes, listening on `host:port`. Resolves once the port is bound.
 */
export async function createServer(partial: Partial<ServerOptions> = {}): Promise<TickstormServer> {
  const uWS = nativeUws()
  const options = resolveServerOptions(partial)
  const market = createMarket(marketOptionsOf(options))
  const feed = createFeed({ market }, pick(options, FEED_OPTION_KEYS))
  const symbolIndex = createSymbolIndex(feed.symbols)
  const subscriptionOf = (names: readonly string[] | null): Subscription =>
    resolveSubscription(names, symbolIndex, options.maxSymbolsPerSubscription)
  const app = uWS.App()
  const fanout = createFanout<GroupState>(feed.symbols.length, createGroupState)
  const clients = createClientRegistry()
  const hub = createSseHub(feed, fanout, clients, options)
  const polls = createPollHub(feed, fanout, clients, options)
  const sockets = createWsHub(app, feed, fanout, subscriptionOf, clients, options)
  const webRoot = options.webRoot ?? defaultWebRoot()
  const staticFiles = webRoot === null ? new Map<string, StaticFile>() : loadStaticFiles(webRoot)
  const startedAt = Date.now()
  let draining = false
  let lastFanoutUs = 0
  let maxFanoutUs = 0

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
  const shedStream = (res: HttpResponse): void => {
    res.cork(() => {
      res.writeStatus('200 OK')
      writeCommonHeaders(res)
      res.writeHeader('Content-Type', 'text/event-stream; charset=utf-8')
      res.writeHeader('Cache-Control', 'no-store, no-transform')
      res.end(encodeSseRetry(drainRetryMs(options)), true)
    })
  }

  const guard = (res: HttpResponse, handler: () => void): void => {
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
      sendError(res, coded)
    }
  }

  app.get('/v1/stream', (res, req) => {
    const lastEventIdHeader = req.getHeader('last-event-id')
    const query = req.getQuery() ?? ''
    guard(res, () => {
      if (draining) return shedStream(res)
      const params = parseQuery(query, STREAM_QUERY)
      const subscription = subscriptionOf(parseSymbolsParam(params.get('symbols')))
      const snapshot = parseFlag('snapshot', params.get('snapshot'), true)
      // The header wins: a browser EventSource keeps its original URL (with any lastEventId
      // query) and sends the newer id in the header when it reconnects.
      const lastEventId = lastEventIdHeader !== '' ? lastEventIdHeader : params.get('lastEventId')
      hub.open(res, subscription, { lastEventId, snapshot, clientId: clientIdParam(params) })
    })
  })

  app.post('/v1/stream', (res, req) => {
    const lastEventIdHeader = req.getHeader('last-event-id')
    const query = req.getQuery() ?? ''
    const declaredLength = Number(req.getHeader('content-length') || 0)
    let aborted = false
    res.onAborted(() => {
      aborted = true
    })
    if (draining) return shedStream(res)
    readBody(
      res,
      options.maxBodyBytes,
      declaredLength,
      (body) => {
        if (aborted) return
        guard(res, () => {
          const request = parseSubscribeRequest(parseJsonBody(body), ERROR_CODES.BAD_JSON)
          const subscription = subscriptionOf(request.symbols)
          const lastEventId = lastEventIdHeader !== '' ? lastEventIdHeader : request.lastEventId
          const clientId = clientIdParam(parseQuery(query, ['client']))
          hub.open(res, subscription, { lastEventId, snapshot: request.snapshot, clientId })
        })
      },
      (error) => {
        if (!aborted) sendError(res, error)
      },
    )
  })

  app.get('/v1/poll', (res, req) => {
    const query = req.getQuery() ?? ''
    guard(res, () => {
      if (draining) {
        throw new TickstormError(ERROR_CODES.SHUTTING_DOWN, 'the server is shutting down')
      }
      const params = parseQuery(query, POLL_QUERY)
      const subscription = subscriptionOf(parseSymbolsParam(params.get('symbols')))
      const timeoutMs = parseIntParam(
        'timeoutMs',
        params.get('timeoutMs'),
        options.pollTimeoutMs,
        options.maxPollTimeoutMs,
      )
      polls.handle(res, subscription, {
        cursor: params.get('cursor'),
        timeoutMs,
        clientId: clientIdParam(params),
      })
    })
  })

  // Cuts the connections of one client, as a network fault would: the demo page's "drop
  // connection" button, so people can watch EventSource reconnect and resume with no gap.
  app.post('/v1/drop', (res, req) => {
    const query = req.getQuery() ?? ''
    guard(res, () => {
      const clientId = clientIdParam(parseQuery(query, ['client']))
      if (clientId === null) {
        throw new TickstormError(ERROR_CODES.BAD_QUERY, 'client is required: the id the page used')
      }
      // Answer first: the cut may be this very connection's neighbour on the same socket pool.
      const dropped = clients.cut(clientId)
      sendJson(res, 200, JSON.stringify({ client: clientId, dropped }))
    })
  })

  app.get('/v1/snapshot', (res, req) => {
    const query = req.getQuery() ?? ''
    guard(res, () => {
      const params = parseQuery(query, ['symbols'])
      const subscription = subscriptionOf(parseSymbolsParam(params.get('symbols')))
      sendJson(res, 200, snapshotEvent(feed, subscription, false).json)
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
  app.get('/v1/symbols', (res, req) => {
    const query = req.getQuery() ?? ''
    guard(res, () => {
      parseQuery(query, [])
      sendJson(res, 200, symbolsJson)
    })
  })

  app.get('/healthz', (res) => {
    const stats = currentStats()
    sendJson(
      res,
      draining ? 503 : 200,
      JSON.stringify({
        status: draining ? 'draining' : 'ok',
        uptimeMs: stats.uptimeMs,
        preset: options.preset,
        seed: options.seed,
        symbols: feed.symbols.length,
        headSeq: stats.feed.headSeq,
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
      }),
    )
  })

  app.get('/*', (res, req) => {
    const file = staticFiles.get(req.getUrl())
    if (file !== undefined) {
      res.cork(() => {
        res.writeStatus('200 OK')
        res.writeHeader('Content-Type', file.contentType)
        res.writeHeader('Cache-Control', 'no-cache')
        res.end(file.bytes)
      })
      return
    }
    const path = req.getUrl()
    if (path !== '/') {
      sendError(
        res,
        new TickstormError(ERROR_CODES.NOT_FOUND, `no route for GET ${path}`, {
          details: { routes: Object.keys(ROUTES) },
        }),
      )
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
          'POST /v1/stream': 'the same stream, subscribed with a JSON body {"symbols": [...]}',
          'GET /v1/poll?symbols=…&cursor=…': 'long polling: the events after cursor, as JSON',
          'GET /v1/ws': 'WebSocket: send {"op":"subscribe","symbols":[...],"lastEventId"?}',
          'GET /v1/snapshot?symbols=…': 'latest values as JSON',
          'GET /v1/symbols': 'the instrument universe',
          'GET /healthz': 'liveness, pacing lag and connection counts',
        },
      }),
    )
  })

  // CORS preflight. A reconnect carrying Last-Event-ID may need one (reference/sse.md §4.3).
  app.options('/*', (res) => {
    res.cork(() => {
      res.writeStatus('204 No Content')
      writeCommonHeaders(res)
      res.writeHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS')
      res.writeHeader('Access-Control-Allow-Headers', 'Last-Event-ID, Content-Type')
      res.writeHeader('Access-Control-Max-Age', '600')
      res.endWithoutBody()
    })
  })

  app.any('/*', (res, req: HttpRequest) => {
    const path = req.getUrl()
    const method = req.getCaseSensitiveMethod()
    const allowed = ROUTES[path]
    if (allowed !== undefined) {
      sendError(
        res,
        new TickstormError(
          ERROR_CODES.METHOD_NOT_ALLOWED,
          `${method} is not allowed on ${path}; use ${allowed.join(' or ')}`,
        ),
        [['Allow', [...allowed, 'OPTIONS'].join(', ')]],
      )
      return
    }
    sendError(
      res,
      new TickstormError(ERROR_CODES.NOT_FOUND, `no route for ${method} ${path}`, {
        details: { routes: Object.keys(ROUTES) },
      }),
    )
  })

  const currentStats = (): ServerStats => ({
    uptimeMs: Date.now() - startedAt,
    feed: feed.stats(),
    sse: hub.stats(),
    poll: polls.stats(),
    ws: sockets.stats(),
    lastFanoutUs,
    maxFanoutUs,
  })

  const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
    app.listen(options.host, options.port, (socket) => {
      if (socket) resolve(socket)
      else {
        reject(
          new TickstormError(
            ERROR_CODES.LISTEN_FAILED,
            `cannot listen on ${options.host}:${options.port} (in use, or not an address of this host)`,
            { details: { host: options.host, port: options.port } },
          ),
        )
      }
    })
  })
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
