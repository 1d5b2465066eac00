import { connect, type createConnection, type NetConnectOpts, type Socket } from 'node:net'
import WebSocket from 'ws'
import { nowUs } from '../../clock.js'
import { createEventObserver, UNREADABLE_EVENT } from '../event-observer.js'
import { createReconnecting, type Engine, type EngineContext, localAddressFor } from './engine.js'
import { observePollEvents } from './longpoll-engine.js'

/**
 * WebSocket subscribers (the `ws` package): subscribe, receive JSON arrays of events, and on a
 * drop reconnect and resume with the last id received, as the protocol intends.
 */
export function createWsEngine(context: EngineContext): Engine {
  const { metrics } = context
  const url = `${context.baseUrl.origin.replace(/^http/, 'ws')}${context.baseUrl.pathname.replace(/\/$/, '')}/v1/ws`

  return {
    start(symbols, index) {
      const localAddress = localAddressFor(context, index)
      const observer = createEventObserver(metrics)
      let lastEventId: string | null = null
      let everConnected = false
      // The TCP socket under the current WebSocket, kept to reset it on close (engine.ts).
      let socket: Socket | undefined

      const connectOnce = (): WebSocket => {
        const startedUs = nowUs()
        const current = new WebSocket(url, {
          perMessageDeflate: false,
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
          if (everConnected) observer.reconnected()
          everConnected = true
          // Every symbol is asked for by name or by "*": an absent list is a 400 (TS_ERR_NO_SYMBOLS).
          const subscribe: Record<string, unknown> = { op: 'subscribe', symbols: symbols ?? '*' }
          if (lastEventId !== null) subscribe['lastEventId'] = lastEventId
          current.send(JSON.stringify(subscribe))
        })
        current.on('message', (raw: Buffer) => {
          const receiptUs = nowUs()
          metrics.addBytes(raw.length)
          let message: unknown
          try {
            message = JSON.parse(raw.toString('utf8'))
          } catch {
            metrics.countError('ws-message-not-json')
            return
          }
          if (Array.isArray(message)) {
            observePollEvents(message, observer, receiptUs, () =>
              metrics.countError(UNREADABLE_EVENT),
            )
            const last = message[message.length - 1] as { id?: string } | undefined
            if (last?.id !== undefined) lastEventId = last.id
          } else if ((message as { op?: string }).op === 'error') {
            metrics.countError(`ws-${(message as { code?: string }).code ?? 'error'}`)
          }
        })
        current.on('error', (error: NodeJS.ErrnoException) => {
          // Closing a subscriber mid-handshake (its session ended while it was connecting) makes
          // ws report the reset it was asked for as ECONNRESET: the harness's own doing, no error.
          if (!line.closed) metrics.countError(error.code ?? 'ws-error')
        })
        current.on('close', (code: number) => {
          if (open) metrics.connectionClosed()
          if (code !== 1000 && code !== 1005 && !line.closed) metrics.countError(`ws-close-${code}`)
          if (line.ended(current)) observer.dropped()
        })
        return current
      }

      const line = createReconnecting({
        connect: connectOnce,
        cut: (ws) => ws.terminate(),
        close: (ws) => {
          if (socket !== undefined && !socket.destroyed) socket.resetAndDestroy()
          else ws.terminate()
        },
        delayMs: () => context.retryMs,
      })
      return line.subscriber
    },
  }
}
