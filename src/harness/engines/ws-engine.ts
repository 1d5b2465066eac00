import { connect, type createConnection, type NetConnectOpts, type Socket } from 'node:net'
import WebSocket from 'ws'
import { nowUs } from '../../clock.js'
import { createEventObserver, type TickFields, UNREADABLE_EVENT } from '../event-observer.js'
import { subscriberHeaders } from '../subscriber-token.js'
import { requestPath, symbolsText } from '../targets/wire-spec.js'
import { createReconnecting, type Engine, type EngineContext, localAddressFor } from './engine.js'
import { observePollEvents } from './longpoll-engine.js'

/**
 * WebSocket subscribers (the `ws` package): subscribe the target's way (a message, or the path),
 * receive its events (JSON arrays of `{ id, event, data }`, or one payload per message), and on a
 * drop reconnect and resume with the last id received where the target takes one.
 */
export function createWsEngine(context: EngineContext): Engine {
  const { metrics, wire, reader, baseUrl } = context
  const spec = wire.ws
  if (spec === null) throw new Error('the target offers no WebSocket')
  const origin = baseUrl.origin.replace(/^http/, 'ws')

  /** The subscribe message: the template with the watch-list, and the resume id if any. */
  const subscribeText = (symbols: readonly string[] | null, lastEventId: string | null) => {
    if (spec.subscribe === null) return null
    const listed = JSON.stringify(symbols ?? wire.everySymbol ?? context.universe)
    const text = spec.subscribe.replaceAll('{symbols}', listed)
    if (spec.resumeField === null || lastEventId === null) return text
    const message = JSON.parse(text) as Record<string, unknown>
    message[spec.resumeField] = lastEventId
    return JSON.stringify(message)
  }

  return {
    start(symbols, index) {
      const localAddress = localAddressFor(context, index)
      const observer = createEventObserver(metrics, symbols, context.shared)
      const fields: TickFields = { ts: 0, sym: '', q: 0 }
      // The list in force: a change by reconnect connects with it (path, token, message).
      let following = symbols
      const urlFor = (list: readonly string[] | null) =>
        `${origin}${requestPath(baseUrl, wire, spec.path, { symbols: symbolsText(wire, list, context.universe) })}`
      let headers = subscriberHeaders(wire.headers, wire.token, symbols)
      const cutSockets = new Set<WebSocket>()
      let url = urlFor(symbols)
      let lastEventId: string | null = null
      // The TCP socket under the current WebSocket, kept to reset it on close (engine.ts).
      let socket: Socket | undefined

      const connectOnce = (): WebSocket => {
        const startedUs = nowUs()
        const current = new WebSocket(url, [...spec.protocols], {
          perMessageDeflate: false,
          headers:
            spec.resumeHeader !== null && lastEventId !== null
              ? { ...headers, [spec.resumeHeader]: lastEventId }
              : headers,
          ...(localAddress ? { localAddress } : {}),
          // As ws's own netConnect does; `path` is the request's URL path here, which
          // net.connect would take for a Unix socket's.
          createConnection: ((options: NetConnectOpts & { socketPath?: string }) => {
            socket = connect({ ...options, path: options.socketPath } as NetConnectOpts)
            return socket
          }) as typeof createConnection,
        })
        let open = false
        current.on('open', () => {
          open = true
          metrics.connectionOpened()
          metrics.recordConnectUs(nowUs() - startedUs)
          const openedUs = nowUs()
          observer.connected(openedUs)
          const subscribe = subscribeText(following, lastEventId)
          if (subscribe !== null) current.send(subscribe)
          // Subscribed by its path: the handshake's answer is the server taking the list.
          else observer.acknowledged(openedUs)
        })
        current.on('message', (raw: Buffer) => {
          const receiptUs = nowUs()
          metrics.addBytes(raw.length)
          const text = raw.toString('utf8')
          if (spec.frames !== 'events') {
            let payload = text
            if (spec.frames === 'meta') {
              const meta = readMetaFrame(text)
              if (meta === null) {
                metrics.countError(UNREADABLE_EVENT)
                return
              }
              if (meta.id !== null) lastEventId = meta.id
              payload = meta.payload
            }
            if (reader.text(payload, fields))
              observer.tick(observer.symbol(fields.sym), fields.q, fields.ts, receiptUs)
            else metrics.countError(UNREADABLE_EVENT)
            return
          }
          let message: unknown
          try {
            message = JSON.parse(text)
          } catch {
            metrics.countError('ws-message-not-json')
            return
          }
          if (Array.isArray(message)) {
            observePollEvents(message, observer, reader, receiptUs, () =>
              metrics.countError(UNREADABLE_EVENT),
            )
            const last = message[message.length - 1] as { id?: string } | undefined
            if (last?.id !== undefined) lastEventId = last.id
          } else if ((message as { op?: string }).op === 'error') {
            metrics.countError(`ws-${(message as { code?: string }).code ?? 'error'}`)
          } else if ((message as { op?: string }).op === 'subscribed') {
            observer.acknowledged(receiptUs)
          }
        })
        current.on('error', (error: NodeJS.ErrnoException) => {
          // Closing a subscriber mid-handshake (its session ended while it was connecting) makes
          // ws report the reset it was asked for as ECONNRESET: the harness's own doing, no error.
          if (!line.closed && !cutSockets.has(current)) metrics.countError(error.code ?? 'ws-error')
        })
        current.on('close', (code: number) => {
          if (open) metrics.connectionClosed()
          // A socket the harness cut (a drop fault) closes 1006: the fault, not the server's error.
          const cutHere = cutSockets.delete(current)
          if (code !== 1000 && code !== 1005 && !line.closed && !cutHere)
            metrics.countError(`ws-close-${code}`)
          if (line.ended(current)) observer.dropped()
        })
        return current
      }

      const line = createReconnecting({
        connect: connectOnce,
        observer,
        cut: (ws) => {
          cutSockets.add(ws)
          ws.terminate()
        },
        close: (ws) => {
          if (socket !== undefined && !socket.destroyed) socket.resetAndDestroy()
          else ws.terminate()
        },
        delayMs: () => context.retryMs,
      })
      return {
        ...line.subscriber,
        changeSymbols(next) {
          if (symbols === null || line.closed) return
          observer.changeSymbols(next, nowUs())
          following = next
          const ws = line.current
          // In place, as the wire spec says ("send another subscribe to change the set"), without
          // a resume id: the server moves the socket between two of its frames, so the symbols
          // kept neither miss nor repeat one. Not while the server may still be replaying a
          // resume (it would start the kept symbols at its head, past what it had yet to replay),
          // nor with a token, whose claim names the old symbols: those reconnect with the new
          // list and the last id received, as a subscriber by path does.
          const inPlace = spec.subscribe !== null && wire.token === null
          // Still opening: its first subscribe will name the new list.
          if (inPlace && ws?.readyState === WebSocket.CONNECTING) return
          if (inPlace && ws?.readyState === WebSocket.OPEN && !observer.resuming) {
            ws.send(subscribeText(next, null)!)
            return
          }
          url = urlFor(next)
          headers = subscriberHeaders(wire.headers, wire.token, next)
          // Its reset is the harness's doing, as a drop fault's cut is: no error.
          if (ws !== undefined) cutSockets.add(ws)
          line.replace()
        },
      }
    },
  }
}

/**
 * A `meta` message: header lines (`id: …`, `content-type: …`), a blank line, the payload; null
 * when there is no blank line.
 */
export function readMetaFrame(text: string): { id: string | null; payload: string } | null {
  const end = text.indexOf('\n\n')
  if (end < 0) return null
  let id: string | null = null
  for (const line of text.slice(0, end).split('\n')) {
    if (line.startsWith('id: ')) id = line.slice(4)
  }
  return { id, payload: text.slice(end + 2) }
}
