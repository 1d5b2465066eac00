import { connect, type Socket } from 'node:net'
import { nowUs } from '../../clock.js'
import type { SseEvent } from '../../wire/sse-parser.js'
import {
  createEventObserver,
  readSnapshot,
  type TickFields,
  UNREADABLE_EVENT,
} from '../event-observer.js'
import { createHttp1ResponseReader } from '../http1-response.js'
import { createSseTickReader } from '../sse-fast-path.js'
import { subscriberHeaders } from '../subscriber-token.js'
import {
  headerLines,
  isTickstormEventFields,
  requestPath,
  symbolsText,
} from '../targets/wire-spec.js'
import { createReconnecting, type Engine, type EngineContext, localAddressFor } from './engine.js'

/** A socket read's worth: what Node's stream reads use too. */
const READ_BUFFER_BYTES = 64 * 1024

/**
 * SSE subscribers on raw `node:net` sockets: the request bytes are built once per watch-list from
 * the target's path template and headers, responses are de-chunked in place and read by the tick
 * fast path in front of the project's WHATWG parser (tickstorm-shaped tick events straight from
 * the bytes, everything else parsed and read where the target's event fields say), and a dropped
 * connection comes back after `retry:` (jittered) asking for what it missed the target's way
 * (`Last-Event-ID`, or a query parameter), as a browser would.
 * Thousands of these cost a fraction of what `EventSource` objects would (no EventTarget, no
 * MessageEvent per event).
 */
export function createSseEngine(context: EngineContext): Engine {
  const { baseUrl, metrics, wire, reader } = context
  const sse = wire.sse
  if (sse === null) throw new Error('the target offers no SSE stream')
  const host = baseUrl.hostname
  const port = Number(baseUrl.port || 80)
  const resume = sse.resume
  // The fast path reads tickstorm's field names as µs: only for a target whose events are so.
  const fastPath = isTickstormEventFields(wire.event)
  const requests = new Map<string, { path: string; rest: string; head: string }>()

  const buildRequest = (symbols: readonly string[] | null) => {
    const path = requestPath(baseUrl, wire, sse.path, {
      symbols: symbolsText(wire, symbols, context.universe),
    })
    const rest = `${headRest}${headerLines(subscriberHeaders(wire.headers, wire.token, symbols))}`
    return { path, rest, head: `GET ${path}${rest}` }
  }
  /** The starting lists' requests are shared; a changed list's is built for its one subscriber. */
  const requestFor = (symbols: readonly string[] | null) => {
    const key = symbols === null ? '*' : symbols.join(',')
    let request = requests.get(key)
    if (request === undefined) {
      request = buildRequest(symbols)
      requests.set(key, request)
    }
    return request
  }
  const headRest = ` HTTP/1.1\r\nHost: ${baseUrl.host}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n`
  /** The request head of one connection: a resume asks for what it missed the target's way. */
  const headFor = (
    request: { path: string; rest: string; head: string },
    lastEventId: string,
  ): string => {
    if (lastEventId === '' || resume === 'none') return request.head
    if (resume === 'last-event-id') return `${request.head}Last-Event-ID: ${lastEventId}\r\n`
    const separator = request.path.includes('?') ? '&' : '?'
    const param = `${encodeURIComponent(resume.query)}=${encodeURIComponent(lastEventId)}`
    return `GET ${request.path}${separator}${param}${request.rest}`
  }

  // One read buffer for all of this engine's sockets (`onread`): each read is parsed inside its
  // callback, before the event loop reads another socket, so they can share it. Against stream
  // reads this saves, per read, a fresh buffer, the Readable machinery and a 'data' event (~0.15
  // µs of harness CPU per event on the framed probe, where one read carries ~100 events).
  const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES)

  return {
    start(symbols, index) {
      let request = requestFor(symbols)
      const localAddress = localAddressFor(context, index)
      const observer = createEventObserver(metrics, symbols, context.shared)
      const fields: TickFields = { ts: 0, sym: '', q: 0 }
      let receiptUs = 0
      let retryMs = context.retryMs
      let open = false

      const onEvent = (event: SseEvent): void => {
        if (wire.snapshots && event.type === 'snapshot') {
          const snapshot = readSnapshot(event.data)
          if (snapshot === null) metrics.countError(UNREADABLE_EVENT)
          else observer.snapshot(snapshot, receiptUs)
          return
        }
        // Any other type, named or not: a tick if it reads as one (another server's payload
        // too), else an error, never silence.
        if (reader.text(event.data, fields)) {
          observer.tick(observer.symbol(fields.sym), fields.q, fields.ts, receiptUs)
        } else metrics.countError(UNREADABLE_EVENT)
      }
      // One reader (and parser) per subscriber for its whole life: it keeps the committed last
      // event id across connections, which is what a reconnect sends.
      const parser = createSseTickReader({
        symbol: observer.symbol,
        onTick: (symbol, q, scheduledUs) => observer.tick(symbol, q, scheduledUs, receiptUs),
        onEvent,
        onRetry: (ms) => {
          retryMs = ms
        },
        onError: () => metrics.countError('sse-line-too-long'),
        fastPath,
      })

      const connectOnce = (): Socket => {
        const startedUs = nowUs()
        const head = headFor(request, parser.lastEventId)
        const reader = createHttp1ResponseReader({
          onHead(status, headers) {
            if (
              status !== 200 ||
              !(headers.get('content-type') ?? '').startsWith('text/event-stream')
            ) {
              // A failed connection: EventSource would give up; a load test counts and retries.
              metrics.countError(`http-${status}`)
              current.destroy()
              return
            }
            open = true
            metrics.connectionOpened()
            metrics.recordConnectUs(nowUs() - startedUs)
            observer.connected(receiptUs)
            observer.acknowledged(receiptUs)
          },
          onBody: (bytes, from, to) => parser.feed(bytes, from, to),
          onEnd: () => current.destroy(),
          onError: (message) => {
            metrics.countError('http-protocol')
            void message
            current.destroy()
          },
        })
        const current = connect({
          host,
          port,
          ...(localAddress ? { localAddress } : {}),
          onread: {
            buffer: readBuffer,
            callback(bytesRead: number, buffer: Uint8Array): boolean {
              // Everything in one read arrived at the same moment.
              receiptUs = nowUs()
              metrics.addBytes(bytesRead)
              // The reader and the SSE reader copy what they keep, so the buffer can be reused.
              reader.feed(buffer, bytesRead)
              return true
            },
          },
        })
        current.on('connect', () => current.write(`${head}\r\n`))
        current.on('error', (error: NodeJS.ErrnoException) => {
          metrics.countError(error.code ?? 'socket-error')
        })
        current.on('close', () => {
          if (open) {
            open = false
            metrics.connectionClosed()
          }
          // A partial event of the dead connection is discarded; the committed id is kept.
          parser.reset()
          if (line.ended(current)) observer.dropped()
        })
        return current
      }

      const line = createReconnecting({
        connect: connectOnce,
        observer,
        cut: (socket) => socket.destroy(),
        close: (socket) => socket.resetAndDestroy(),
        delayMs: () => retryMs,
      })
      return {
        ...line.subscriber,
        changeSymbols(next) {
          if (symbols === null || line.closed) return
          observer.changeSymbols(next, nowUs())
          request = buildRequest(next)
          // The cut connection's partial event goes with it; the committed id is what resumes.
          parser.reset()
          line.replace()
        },
      }
    },
  }
}
