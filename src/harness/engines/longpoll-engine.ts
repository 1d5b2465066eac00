import { connect, type Socket } from 'node:net'
import { nowUs } from '../../clock.js'
import type { EventReader } from '../event-fields.js'
import {
  createEventObserver,
  type EventObserver,
  snapshotOf,
  type TickFields,
  UNREADABLE_EVENT,
} from '../event-observer.js'
import { createHttp1ResponseReader } from '../http1-response.js'
import { subscriberHeaders } from '../subscriber-token.js'
import { headerLines, requestPath, symbolsText } from '../targets/wire-spec.js'
import { createReconnecting, type Engine, type EngineContext, localAddressFor } from './engine.js'

interface PollEvent {
  readonly id?: string
  readonly event?: string
  readonly data?: unknown
}

/**
 * Events of one poll answer or WebSocket message (`[{ id, event, data }]`) into the observer:
 * `data` is the payload (an element without `data` is the payload itself), read where the
 * target's event fields say; a `snapshot` event (tickstorm's) resets the sequences it names.
 */
export function observePollEvents(
  events: unknown,
  observer: EventObserver,
  reader: EventReader,
  receiptUs: number,
  unreadable: () => void,
): void {
  if (!Array.isArray(events)) {
    unreadable()
    return
  }
  const fields: TickFields = { ts: 0, sym: '', q: 0 }
  for (const element of events as unknown[]) {
    if (typeof element !== 'object' || element === null) {
      unreadable()
      continue
    }
    const event = element as PollEvent
    const payload = 'data' in event ? event.data : element
    if (event.event === 'snapshot') {
      const snapshot = snapshotOf(payload)
      if (snapshot !== null) observer.snapshot(snapshot, receiptUs)
      else unreadable()
    } else if (reader.value(payload, fields))
      observer.tick(observer.symbol(fields.sym), fields.q, fields.ts, receiptUs)
    else unreadable()
  }
}

/**
 * Long-poll subscribers: one keep-alive HTTP/1.1 connection each on a raw socket, one request in
 * flight, carrying the cursor of the previous answer the target's way (a query parameter, or
 * nchan's `If-Modified-Since`/`If-None-Match`). A poll answered with events costs a full
 * request/response round trip per frame per subscriber: what the transport comparison shows.
 */
export function createLongPollEngine(context: EngineContext): Engine {
  const { baseUrl, metrics, wire, reader } = context
  const spec = wire.longpoll
  if (spec === null) throw new Error('the target offers no long polling')
  const host = baseUrl.hostname
  const port = Number(baseUrl.port || 80)

  return {
    start(symbols, index) {
      const localAddress = localAddressFor(context, index)
      const observer = createEventObserver(metrics, symbols, context.shared)
      const fields: TickFields = { ts: 0, sym: '', q: 0 }
      let listed = symbolsText(wire, symbols, context.universe)
      let extraHeaders = headerLines(subscriberHeaders(wire.headers, wire.token, symbols))
      // The cursor of an `events` answer, or the validators of a `message` answer.
      let cursor = ''
      let modifiedSince = ''
      let noneMatch = ''

      const poll = (current: Socket): void => {
        let path = requestPath(baseUrl, wire, spec.path, { symbols: listed, cursor })
        if (spec.cursorQuery !== null && cursor !== '') {
          path += `${path.includes('?') ? '&' : '?'}${spec.cursorQuery}=${encodeURIComponent(cursor)}`
        }
        let head = `GET ${path} HTTP/1.1\r\nHost: ${baseUrl.host}\r\n${extraHeaders}`
        if (modifiedSince !== '') head += `If-Modified-Since: ${modifiedSince}\r\n`
        if (noneMatch !== '') head += `If-None-Match: ${noneMatch}\r\n`
        current.write(`${head}\r\n`)
      }

      /** One answer: true when the connection goes on polling. */
      const answered = (
        status: number,
        headers: ReadonlyMap<string, string>,
        text: string,
        receiptUs: number,
      ): boolean => {
        if (spec.answer === 'message') {
          // Nothing new before the server's timeout: poll again with the same validators.
          if (status === 304 || status === 408) return true
          if (status !== 200) {
            metrics.countError(`http-${status}`)
            return false
          }
          modifiedSince = headers.get('last-modified') ?? ''
          noneMatch = headers.get('etag') ?? ''
          if (reader.text(text, fields))
            observer.tick(observer.symbol(fields.sym), fields.q, fields.ts, receiptUs)
          else metrics.countError(UNREADABLE_EVENT)
          return true
        }
        if (status !== 200) {
          metrics.countError(`http-${status}`)
          return false
        }
        let answer: { events?: unknown; cursor?: unknown }
        try {
          answer = JSON.parse(text) as typeof answer
        } catch {
          metrics.countError('poll-body-not-json')
          return false
        }
        observePollEvents(answer?.events, observer, reader, receiptUs, () =>
          metrics.countError(UNREADABLE_EVENT),
        )
        if (typeof answer?.cursor === 'string') cursor = answer.cursor
        return true
      }

      const connectOnce = (): Socket => {
        const startedUs = nowUs()
        const current = connect({ host, port, ...(localAddress ? { localAddress } : {}) })
        let body: Buffer[] = []
        let status = 0
        let headers: ReadonlyMap<string, string> = new Map()
        let receiptUs = 0
        let connected = false
        const newReader = () =>
          createHttp1ResponseReader({
            onHead(code, head) {
              status = code
              headers = head
            },
            onBody(bytes, from, to) {
              body.push(Buffer.from(bytes.subarray(from, to)))
            },
            onEnd() {
              const text = Buffer.concat(body).toString('utf8')
              body = []
              response = newReader()
              if (!answered(status, headers, text, receiptUs)) current.destroy()
              else {
                // The first answer on a changed list's connection is the server taking it.
                observer.acknowledged(receiptUs)
                if (!line.closed) poll(current)
              }
            },
            onError() {
              metrics.countError('http-protocol')
              current.destroy()
            },
          })
        let response = newReader()
        current.on('connect', () => {
          connected = true
          metrics.connectionOpened()
          metrics.recordConnectUs(nowUs() - startedUs)
          observer.connected(nowUs())
          poll(current)
        })
        current.on('data', (bytes: Buffer) => {
          receiptUs = nowUs()
          metrics.addBytes(bytes.length)
          response.feed(bytes)
        })
        current.on('error', (error: NodeJS.ErrnoException) => {
          metrics.countError(error.code ?? 'socket-error')
        })
        current.on('close', () => {
          if (connected) metrics.connectionClosed()
          if (line.ended(current)) observer.dropped()
        })
        return current
      }

      const line = createReconnecting({
        connect: connectOnce,
        observer,
        cut: (socket) => socket.destroy(),
        close: (socket) => socket.resetAndDestroy(),
        delayMs: () => context.retryMs,
      })
      return {
        ...line.subscriber,
        changeSymbols(next) {
          if (symbols === null || line.closed) return
          observer.changeSymbols(next, nowUs())
          listed = symbolsText(wire, next, context.universe)
          extraHeaders = headerLines(subscriberHeaders(wire.headers, wire.token, next))
          // A poll in flight cannot be withdrawn on HTTP/1.1 but by closing its connection: the
          // next one asks for the new list from the same cursor, so the kept symbols lose nothing.
          line.replace()
        },
      }
    },
  }
}
