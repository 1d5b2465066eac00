import { ERROR_CODES, TickstormError } from '../errors.js'
import type { EventLog } from '../feed/event-log.js'
import type { Market } from '../market/types.js'
import { formatPrice } from '../wire/tick-json.js'
import { TOKEN_QUERY } from './auth.js'
import type { ClientRegistry } from './client-registry.js'
import { type CorsDecision, PREFLIGHT_HEADERS, writeCorsHeaders } from './cors.js'
import type { HealthDocument } from './health.js'
import { endWith, isHead, parseQuery, sendError, sendJson } from './http.js'
import type { HttpResponse, TemplatedApp } from './native-uws.js'
import { snapshotEvent } from './replay.js'
import { clientIdParam, type RequestFlow } from './request-flow.js'
import type { StaticFile } from './static-files.js'
import { askedSymbols } from './subscription.js'
import type { TransportRoute } from './transport.js'

/**
 * Where the answers about the whole server come from: this server alone, or (a cluster's worker)
 * every server on the port, asked through the cluster.
 */
export interface WholeServer {
  /** Cuts one client's connections wherever they are; resolves with how many. */
  dropClient(clientId: string): Promise<number>
  health(): Promise<HealthDocument>
  metrics(): Promise<string>
}

export interface InfoRouteDeps {
  readonly feed: EventLog
  readonly market: Market
  readonly flow: RequestFlow
  readonly clients: ClientRegistry
  readonly whole: WholeServer
  readonly staticFiles: ReadonlyMap<string, StaticFile>
  readonly metricsContentType: string
  /** The transports' routes: listed in the index document and in 404/405 answers. */
  readonly transportRoutes: readonly TransportRoute[]
}

/**
 * The routes that are not a transport: `/v1/snapshot`, `/v1/symbols`, `/v1/drop`, `/healthz`,
 * `/metrics`, the demo page's files and the index document at `/`, CORS preflight, and what no
 * route takes (404, 405 with `Allow`, 426 for an upgrade route). Every GET route answers HEAD too
 * (RFC 9110 §9.3.2: a general-purpose server must; uptime monitors use it). Mounted after the
 * transports' routes, since the catch-alls take whatever is left.
 */
export function mountInfoRoutes(app: TemplatedApp, deps: InfoRouteDeps): void {
  const { feed, flow, whole } = deps
  const routes: TransportRoute[] = [
    { pattern: '/', methods: ['GET', 'HEAD'], endpoints: [] },
    ...deps.transportRoutes,
    info('/v1/snapshot', ['GET', 'HEAD'], 'GET /v1/snapshot?symbols=…', 'latest values as JSON'),
    info('/v1/symbols', ['GET', 'HEAD'], 'GET /v1/symbols', 'the instrument universe'),
    info('/healthz', ['GET', 'HEAD'], 'GET /healthz', 'liveness, pacing lag and connection counts'),
    info('/metrics', ['GET', 'HEAD'], 'GET /metrics', 'Prometheus metrics'),
    { pattern: '/v1/drop', methods: ['POST'], endpoints: [] },
  ]
  const byPath = new Map(routes.map((route) => [route.pattern, route]))

  // Cuts the connections of one client, as a network fault would: the demo page's "drop
  // connection" button, so people can watch EventSource reconnect and resume with no gap. With a
  // key configured it takes a valid token too (any symbols): it acts on other connections.
  app.post('/v1/drop', (res, req) => {
    const query = req.getQuery() ?? ''
    const start = flow.start(req)
    const { cors } = start
    flow.guard(res, cors, () => {
      flow.checkOrigin(cors)
      const params = parseQuery(query, ['client', TOKEN_QUERY])
      const clientId = clientIdParam(params)
      if (clientId === null) {
        throw new TickstormError(ERROR_CODES.BAD_QUERY, 'client is required: the id the page used')
      }
      flow.withGrant(res, cors, flow.tokenOf(start, params.get(TOKEN_QUERY)), () => {
        flow.later(res, cors, whole.dropClient(clientId), (dropped) =>
          sendJson(res, 200, JSON.stringify({ client: clientId, dropped }), cors),
        )
      })
    })
  })

  flow.getAndHead(app, '/v1/snapshot', (res, req) => {
    const query = req.getQuery() ?? ''
    const start = flow.start(req)
    const { cors } = start
    flow.guard(res, cors, () => {
      flow.checkOrigin(cors)
      const params = parseQuery(query, ['symbols', TOKEN_QUERY])
      const names = askedSymbols(params.get('symbols'), 'query', ERROR_CODES.BAD_QUERY)
      flow.withGrant(res, cors, flow.tokenOf(start, params.get(TOKEN_QUERY)), (grant) => {
        const subscription = flow.subscriptionOf(names, grant)
        sendJson(res, 200, snapshotEvent(feed, subscription, false).json, cors)
      })
    })
  })

  // The universe never changes while the server runs, so its document is built once.
  const symbolsJson = JSON.stringify({
    count: deps.market.instruments.length,
    symbols: deps.market.instruments.map((instrument) => ({
      symbol: instrument.symbol,
      tickSize: Number(formatPrice(instrument.tickUnits)),
      lotSize: instrument.lotSize,
      startPrice: Number(formatPrice(instrument.startPrice)),
    })),
  })
  flow.getAndHead(app, '/v1/symbols', (res, req) => {
    const query = req.getQuery() ?? ''
    const { cors } = flow.start(req)
    flow.guard(res, cors, () => {
      flow.checkOrigin(cors)
      // access_token is accepted (and not needed) so a client may send it everywhere.
      parseQuery(query, [TOKEN_QUERY])
      sendJson(res, 200, symbolsJson, cors)
    })
  })

  flow.getAndHead(app, '/healthz', (res, req) => {
    const { cors } = flow.start(req)
    flow.later(res, cors, whole.health(), (health) =>
      sendJson(res, health.status === 'ok' ? 200 : 503, JSON.stringify(health), cors),
    )
  })

  // Prometheus scrape. Open like /healthz (operational data, no market data): restrict it on the
  // network if needed. prom-client renders asynchronously.
  flow.getAndHead(app, '/metrics', (res, req) => {
    const { cors } = flow.start(req)
    flow.later(res, cors, whole.metrics(), (text) => {
      res.writeStatus('200 OK')
      writeCorsHeaders(res, cors)
      res.writeHeader('Content-Type', deps.metricsContentType)
      res.writeHeader('Cache-Control', 'no-store')
      endWith(res, text)
    })
  })

  const indexJson = JSON.stringify({
    name: 'tickstorm',
    page: 'not built: run `npm run build` for the live ticker page',
    endpoints: Object.fromEntries(routes.flatMap((route) => route.endpoints)),
  })
  flow.getAndHead(app, '/*', (res, req) => {
    const { cors } = flow.start(req)
    const path = req.getUrl()
    const file = deps.staticFiles.get(path)
    if (file !== undefined) {
      res.cork(() => {
        res.writeStatus('200 OK')
        writeCorsHeaders(res, cors)
        res.writeHeader('Content-Type', file.contentType)
        res.writeHeader('Cache-Control', 'no-cache')
        endWith(res, file.bytes)
      })
    } else if (path === '/') sendJson(res, 200, indexJson, cors)
    else noRoute(res, isHead(res) ? 'HEAD' : 'GET', path, cors)
  })

  // CORS preflight. A reconnect carrying Last-Event-ID may need one (reference/sse.md §4.3); a
  // fetch with a bearer token needs one. An origin outside the allowlist gets no Allow-* headers,
  // so the browser fails the preflight and never sends the request.
  app.options('/*', (res, req) => {
    const { cors } = flow.start(req)
    res.cork(() => {
      res.writeStatus('204 No Content')
      writeCorsHeaders(res, cors)
      if (cors.allowed) for (const [name, value] of PREFLIGHT_HEADERS) res.writeHeader(name, value)
      res.endWithoutBody()
    })
  })

  app.any('/*', (res, req) => {
    noRoute(res, req.getCaseSensitiveMethod(), req.getUrl(), flow.start(req).cors)
  })

  /**
   * What no handler took: 405 with `Allow` on a route that lacks the method (a HEAD's without
   * content, as every answer to HEAD), 426 on an upgrade route asked without one, 404 elsewhere.
   */
  const noRoute = (res: HttpResponse, method: string, path: string, cors: CorsDecision): void => {
    const route = byPath.get(path)
    if (route === undefined) {
      const error = new TickstormError(ERROR_CODES.NOT_FOUND, `no route for ${method} ${path}`, {
        details: { routes: routes.map((known) => known.pattern) },
      })
      sendError(res, error, cors)
    } else if (route.methods.includes(method) && route.upgrade !== undefined) {
      // uWS hands an upgrade route's handler only the requests that ask for the upgrade.
      const error = new TickstormError(
        ERROR_CODES.UPGRADE_REQUIRED,
        `${path} ${route.upgrade.hint}`,
      )
      sendError(res, error, cors, [['Upgrade', route.upgrade.protocol]])
    } else {
      const allowed = route.methods.join(', ')
      const error = new TickstormError(
        ERROR_CODES.METHOD_NOT_ALLOWED,
        `${method} is not allowed on ${path}; use ${allowed}`,
      )
      sendError(res, error, cors, [['Allow', `${allowed}, OPTIONS`]])
    }
  }
}

function info(
  pattern: string,
  methods: readonly string[],
  endpoint: string,
  what: string,
): TransportRoute {
  return { pattern, methods, endpoints: [[endpoint, what]] }
}
