import { connect, type Socket } from 'node:net'
import { nowUs } from '../../clock.js'
import type { SseEvent } from '../../wire/sse-parser.js'
import {
  createEventObserver,
  readAnyTick,
  readSnapshot,
  type TickFields,
  UNREADABLE_EVENT,
} from '../event-observer.js'
import { createHttp1ResponseReader } from '../http1-response.js'
import { createSseTickReader } from '../sse-fast-path.js'
import { createReconnecting, type Engine, type EngineContext, localAddressFor } from './engine.js'

/** A socket read's worth: what Node's stream reads use too. */
const READ_BUFFER_BYTES = 64 * 1024

/**
 * SSE subscribers on raw `node:net` sockets: the request bytes are built once per watch-list,
 * responses are de-chunked in place and read by the tick fast path in front of the project's
 * WHATWG parser (our tick events straight from the bytes, everything else parsed), and a dropped
 * connection comes back after `retry:` (jittered) with `Last-Event-ID`, as a browser would.
 * Thousands of these cost a fraction of what `EventSource` objects would (no EventTarget, no
 * MessageEvent per event).
 */
export function createSseEngine(context: EngineContext): Engine {
  const { baseUrl, metrics } = context
  const host = baseUrl.hostname
  const port = Number(baseUrl.port || 80)
  const requests = new Map<string, string>()
  // One read buffer for all of this engine's sockets (`onread`): each read is parsed inside its
  // callback, before the event loop reads another socket, so they can share it. Against stream
  // reads this saves, per read, a fresh buffer, the Readable machinery and a 'data' event (~0.15
  // µs of harness CPU per event on the framed probe, where one read carries ~100 events).
  const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES)

  const requestFor = (symbols: readonly string[] | null): string => {
    const key = symbols === null ? '*' : symbols.join(',')
    let request = requests.get(key)
    if (request === undefined) {
      const query = symbols === null ? '' : `symbols=${symbols.join(',')}`
      request =
        `GET ${baseUrl.pathname.replace(/\/$/, '')}/v1/stream?${query} HTTP/1.1\r\n` +
        `Host: ${baseUrl.host}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n`
      requests.set(key, request)
    }
    return request
  }

  return {
    start(symbols, index) {
      const request = requestFor(symbols)
      const localAddress = localAddressFor(context, index)
      const observer = createEventObserver(metrics)
      const fields: TickFields = { ts: 0, sym: '', q: 0 }
      let receiptUs = 0
      let retryMs = context.retryMs
      let open = false
      let everConnected = false

      const onEvent = (event: SseEvent): void => {
        if (event.type === 'snapshot') {
          const snapshot = readSnapshot(event.data)
          if (snapshot === null) metrics.countError(UNREADABLE_EVENT)
          else observer.snapshot(snapshot.quotes, snapshot.reset, receiptUs)
          return
        }
        // Any other type, named or not: a tick if it reads as one (another server's payload
        // too), else an error, never silence.
        if (readAnyTick(event.data, fields)) {
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
      })

      const connectOnce = (): Socket => {
        const startedUs = nowUs()
        const lastEventId = parser.lastEventId
        const head = lastEventId === '' ? request : `${request}Last-Event-ID: ${lastEventId}\r\n`
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
            if (everConnected) observer.reconnected()
            everConnected = true
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
        cut: (socket) => socket.destroy(),
        close: (socket) => socket.resetAndDestroy(),
        delayMs: () => retryMs,
      })
      return line.subscriber
    },
  }
}
