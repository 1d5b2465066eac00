import { connect, type Socket } from 'node:net'
import { nowUs } from '../../clock.js'
import { createEventObserver, type EventObserver, UNREADABLE_EVENT } from '../event-observer.js'
import { createHttp1ResponseReader } from '../http1-response.js'
import { createReconnecting, type Engine, type EngineContext, localAddressFor } from './engine.js'

interface PollEvent {
  readonly id: string
  readonly event: string
  readonly data: {
    ts?: number
    sym?: string
    q?: number
    reset?: boolean
    quotes?: { sym: string; q: number }[]
  }
}

/** Events of one poll answer into the observer. */
export function observePollEvents(
  events: readonly PollEvent[],
  observer: EventObserver,
  receiptUs: number,
  unreadable: () => void,
): void {
  for (const event of events) {
    const data = event.data as PollEvent['data'] | null | undefined
    if (typeof data !== 'object' || data === null) unreadable()
    else if (event.event === 'snapshot') {
      if (Array.isArray(data.quotes)) observer.snapshot(data.quotes, data.reset === true, receiptUs)
      else unreadable()
    } else if (
      typeof data.ts === 'number' &&
      typeof data.sym === 'string' &&
      Number.isInteger(data.q) &&
      (data.q ?? -1) >= 0
    )
      observer.tick(observer.symbol(data.sym), data.q ?? 0, data.ts, receiptUs)
    // Without `q` a gap cannot be told from a duplicate: unreadable, an error.
    else unreadable()
  }
}

/**
 * Long-poll subscribers: one keep-alive HTTP/1.1 connection each on a raw socket, one request in
 * flight, carrying the cursor of the previous answer. A poll answered with events costs a full
 * request/response round trip per frame per subscriber: what the transport comparison shows.
 */
export function createLongPollEngine(context: EngineContext, timeoutMs = 25_000): Engine {
  const { baseUrl, metrics } = context
  const host = baseUrl.hostname
  const port = Number(baseUrl.port || 80)
  const prefix = baseUrl.pathname.replace(/\/$/, '')

  return {
    start(symbols, index) {
      const localAddress = localAddressFor(context, index)
      const observer = createEventObserver(metrics)
      const query = `${symbols === null ? '' : `symbols=${symbols.join(',')}&`}timeoutMs=${timeoutMs}`
      let cursor: string | null = null
      let everConnected = false

      const poll = (current: Socket): void => {
        const path = `${prefix}/v1/poll?${query}${cursor === null ? '' : `&cursor=${cursor}`}`
        current.write(`GET ${path} HTTP/1.1\r\nHost: ${baseUrl.host}\r\n\r\n`)
      }

      const connectOnce = (): Socket => {
        const startedUs = nowUs()
        const current = connect({ host, port, ...(localAddress ? { localAddress } : {}) })
        let body: Buffer[] = []
        let status = 0
        let receiptUs = 0
        let connected = false
        const newReader = () =>
          createHttp1ResponseReader({
            onHead(code) {
              status = code
            },
            onBody(bytes, from, to) {
              body.push(Buffer.from(bytes.subarray(from, to)))
            },
            onEnd() {
              const text = Buffer.concat(body).toString('utf8')
              body = []
              reader = newReader()
              if (status !== 200) {
                metrics.countError(`http-${status}`)
                current.destroy()
                return
              }
              let answer: { events: PollEvent[]; cursor: string }
              try {
                answer = JSON.parse(text) as { events: PollEvent[]; cursor: string }
              } catch {
                metrics.countError('poll-body-not-json')
                current.destroy()
                return
              }
              observePollEvents(answer.events, observer, receiptUs, () =>
                metrics.countError(UNREADABLE_EVENT),
              )
              cursor = answer.cursor
              if (!line.closed) poll(current)
            },
            onError() {
              metrics.countError('http-protocol')
              current.destroy()
            },
          })
        let reader = newReader()
        current.on('connect', () => {
          connected = true
          metrics.connectionOpened()
          metrics.recordConnectUs(nowUs() - startedUs)
          if (everConnected) observer.reconnected()
          everConnected = true
          poll(current)
        })
        current.on('data', (bytes: Buffer) => {
          receiptUs = nowUs()
          metrics.addBytes(bytes.length)
          reader.feed(bytes)
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
        cut: (socket) => socket.destroy(),
        close: (socket) => socket.resetAndDestroy(),
        delayMs: () => context.retryMs,
      })
      return line.subscriber
    },
  }
}
