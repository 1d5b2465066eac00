import { ERROR_CODES } from '../../errors.js'
import { encodeSseRetry } from '../../wire/sse-frame.js'
import { TOKEN_QUERY } from '../auth.js'
import { type CorsDecision, writeCorsHeaders } from '../cors.js'
import { endWith, isHead, parseFlag, parseQuery, readBody, sendError } from '../http.js'
import type { HttpResponse, TemplatedApp } from '../native-uws.js'
import { clientIdParam, type RequestFlow } from '../request-flow.js'
import type { ServerOptions } from '../server-options.js'
import { parseJsonBody, parseSubscribeRequest } from '../subscribe-request.js'
import { askedSymbols, type Subscription } from '../subscription.js'

// The SSE transport's HTTP side: its routes (GET, HEAD and POST /v1/stream), read into a
// subscription and a start, and the status and headers every stream answer carries.

/** How a new stream starts. */
export interface StreamStart {
  /** `Last-Event-ID` (header first, then the `lastEventId` query parameter), or null. */
  readonly lastEventId: string | null
  /** Whether a fresh stream (no id) begins with a snapshot of its symbols. */
  readonly snapshot: boolean
  readonly clientId: string | null
  readonly cors: CorsDecision
}

const STREAM_QUERY = ['symbols', 'lastEventId', 'snapshot', 'client', TOKEN_QUERY] as const

/**
 * A stream's status and headers, the same for a live stream, a shed one and a HEAD. no-transform
 * keeps compressing proxies from buffering; X-Accel-Buffering turns nginx's proxy buffering off for
 * this response (reference/sse.md §4.1, §5).
 */
export function writeStreamHead(res: HttpResponse, cors: CorsDecision): void {
  res.writeStatus('200 OK')
  res.writeHeader('Content-Type', 'text/event-stream; charset=utf-8')
  res.writeHeader('Cache-Control', 'no-store, no-transform')
  res.writeHeader('X-Accel-Buffering', 'no')
  writeCorsHeaders(res, cors)
}

/**
 * Sheds a stream: 200, a `retry:` and the end. Never 503: a browser's EventSource gives up for
 * good on any non-200 status, while a `retry:` brings it back later (reference/sse.md §4.2).
 */
export function shedSse(res: HttpResponse, cors: CorsDecision, retryMs: number): void {
  res.cork(() => {
    writeStreamHead(res, cors)
    endWith(res, encodeSseRetry(retryMs), true)
  })
}

/** HEAD of a stream: the headers a GET would get, then the end (no Content-Length: none is known). */
function headOfStream(res: HttpResponse, cors: CorsDecision): void {
  res.cork(() => {
    writeStreamHead(res, cors)
    endWith(res, null)
  })
}

/** What the routes hand a request to, once it is read and allowed. */
export interface SseHandlers {
  /** Starts a stream on `res` (inside the uWS callback, or corked). */
  open(res: HttpResponse, subscription: Subscription, start: StreamStart): void
  /** Sheds a stream request while draining: 200 + `retry:` + end, never 503. */
  shed(res: HttpResponse, cors: CorsDecision): void
}

/** Mounts GET, HEAD and POST /v1/stream on `app`. */
export function mountSseRoutes(
  app: TemplatedApp,
  flow: RequestFlow,
  options: ServerOptions,
  handlers: SseHandlers,
): void {
  flow.getAndHead(app, '/v1/stream', (res, req) => {
    const lastEventIdHeader = req.getHeader('last-event-id')
    const query = req.getQuery() ?? ''
    const start = flow.start(req)
    const { cors } = start
    flow.guard(res, cors, () => {
      flow.checkOrigin(cors)
      if (flow.draining) return handlers.shed(res, cors)
      const params = parseQuery(query, STREAM_QUERY)
      const names = askedSymbols(params.get('symbols'), 'query', ERROR_CODES.BAD_QUERY)
      const snapshot = parseFlag('snapshot', params.get('snapshot'), true)
      // The header wins: a browser EventSource keeps its original URL (with any lastEventId
      // query) and sends the newer id in the header when it reconnects.
      const lastEventId = lastEventIdHeader !== '' ? lastEventIdHeader : params.get('lastEventId')
      const clientId = clientIdParam(params)
      flow.withGrant(res, cors, flow.tokenOf(start, params.get(TOKEN_QUERY)), (grant) => {
        if (flow.draining) return handlers.shed(res, cors)
        const subscription = flow.subscriptionOf(names, grant)
        // HEAD (RFC 9110 §9.3.2): the headers a GET would get, then the end; no stream opened.
        if (isHead(res)) return headOfStream(res, cors)
        flow.afterCatchUp(res, cors, lastEventId, () =>
          handlers.open(res, subscription, { lastEventId, snapshot, clientId, cors }),
        )
      })
    })
  })

  app.post('/v1/stream', (res, req) => {
    const lastEventIdHeader = req.getHeader('last-event-id')
    const query = req.getQuery() ?? ''
    const declaredLength = Number(req.getHeader('content-length') || 0)
    const start = flow.start(req)
    const { cors } = start
    let aborted = false
    res.onAborted(() => {
      aborted = true
    })
    if (!cors.allowed) return flow.guard(res, cors, () => flow.checkOrigin(cors))
    if (flow.draining) return handlers.shed(res, cors)
    readBody(
      res,
      options.maxBodyBytes,
      declaredLength,
      (body) => {
        if (aborted) return
        flow.guard(res, cors, () => {
          const request = parseSubscribeRequest(parseJsonBody(body), ERROR_CODES.BAD_JSON)
          const lastEventId = lastEventIdHeader !== '' ? lastEventIdHeader : request.lastEventId
          const params = parseQuery(query, ['client', TOKEN_QUERY])
          const clientId = clientIdParam(params)
          flow.withGrant(res, cors, flow.tokenOf(start, params.get(TOKEN_QUERY)), (grant) => {
            if (flow.draining) return handlers.shed(res, cors)
            const subscription = flow.subscriptionOf(request.symbols, grant, ERROR_CODES.BAD_JSON)
            flow.afterCatchUp(res, cors, lastEventId, () =>
              handlers.open(res, subscription, {
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
}
