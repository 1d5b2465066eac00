import { toStreamEvent } from './stream-event.js'
import type { ConnectionState, OpenTransport, StateChange } from './transport.js'

interface WireEvent {
  readonly id: string
  readonly event: string
  readonly data: unknown
}

type ServerMessage =
  | readonly WireEvent[]
  | { readonly op: 'subscribed'; readonly head: string }
  | { readonly op: 'hb' }
  | { readonly op: 'error'; readonly code: string; readonly message: string }

/**
 * WebSocket: one socket, one `subscribe` message for the whole watch-list. WebSocket has no
 * automatic reconnect, so this does what EventSource does by itself: after a close it waits,
 * opens a new socket and subscribes with `lastEventId`, and the server replays from its ring.
 * (WebSockets do not count against the browser's six HTTP/1.1 connections per host.)
 */
export const openWs: OpenTransport = (options) => {
  const { handlers } = options
  let socket: WebSocket | null = null
  let closed = false
  let state: ConnectionState | null = null
  let lastId = options.lastEventId
  let timer: ReturnType<typeof setTimeout> | undefined

  const setState = (change: StateChange): void => {
    if (change.state === state) return
    state = change.state
    handlers.onState(change)
  }

  const connect = (resumeFrom: string | null, isReconnect: boolean): void => {
    const url = new URL(`/v1/ws?client=${options.clientId}`, options.baseUrl)
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
    const ws = new WebSocket(url)
    socket = ws
    if (!isReconnect) setState({ state: 'connecting', detail: 'WebSocket → /v1/ws' })
    ws.onopen = () => {
      if (closed) return
      const subscribe: Record<string, unknown> = { op: 'subscribe', symbols: options.symbols }
      if (resumeFrom !== null) subscribe['lastEventId'] = resumeFrom
      ws.send(JSON.stringify(subscribe))
    }
    ws.onmessage = (message: MessageEvent<string>) => {
      if (closed) return
      const parsed = JSON.parse(message.data) as ServerMessage
      if (Array.isArray(parsed)) {
        for (const wire of parsed) {
          lastId = wire.id
          const event = toStreamEvent(wire.id, wire.event, wire.data)
          if (event !== null) handlers.onEvent(event)
          if (closed) return
        }
        return
      }
      const control = parsed as Exclude<ServerMessage, readonly WireEvent[]>
      if (control.op === 'subscribed') {
        setState(
          resumeFrom === null
            ? { state: 'open', detail: 'subscribed: snapshot, then live events' }
            : {
                state: 'open',
                resumedFrom: resumeFrom,
                detail: `subscribed with lastEventId ${resumeFrom}; the server replayed the gap`,
              },
        )
      } else if (control.op === 'error') {
        handlers.onNotice(`server error ${control.code}: ${control.message}`)
      }
    }
    ws.onclose = (close) => {
      if (closed) return
      const why = close.reason === '' ? `code ${close.code}` : `${close.code} ${close.reason}`
      setState({
        state: 'reconnecting',
        detail: `socket closed (${why}) after id ${lastId ?? '—'}; reconnecting in ${options.reconnectDelayMs} ms`,
      })
      timer = setTimeout(() => {
        if (!closed) connect(lastId, true)
      }, options.reconnectDelayMs)
    }
  }

  connect(options.lastEventId, false)
  return {
    name: 'ws',
    close() {
      closed = true
      clearTimeout(timer)
      socket?.close(1000, 'page switched')
    },
  }
}
