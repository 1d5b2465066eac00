import { EVENT_TYPES, toStreamEvent } from './stream-event.js'
import type { ConnectionState, OpenTransport, StateChange } from './transport.js'
import { symbolsParam } from './transport.js'

/**
 * Server-Sent Events through the browser's own EventSource, which is the point of the demo: it
 * reconnects by itself after the server's `retry:` interval and sends `Last-Event-ID` with the id
 * of the last event it saw (WHATWG HTML §9.2, "reestablish the connection"), so the server can
 * replay what was missed. The page only watches: it never reconnects an EventSource itself,
 * except when EventSource has given up for good (CLOSED, after a non-200 answer).
 */
export const openSse: OpenTransport = (options) => {
  const { handlers } = options
  let source: EventSource | null = null
  let closed = false
  let state: ConnectionState | null = null
  let opened = false
  /** The id of the last event received: what EventSource sends as `Last-Event-ID`. */
  let lastId = options.lastEventId
  /** `lastId` when the connection was lost: the stream resumes after it. */
  let lostAt: string | null = null
  let timer: ReturnType<typeof setTimeout> | undefined

  const setState = (change: StateChange): void => {
    if (change.state === state) return
    state = change.state
    handlers.onState(change)
  }

  const onMessage = (message: Event): void => {
    if (closed) return
    const { data, lastEventId, type } = message as MessageEvent<string>
    lastId = lastEventId
    const event = toStreamEvent(lastEventId, type, JSON.parse(data))
    if (event !== null) handlers.onEvent(event)
  }

  const connect = (resumeFrom: string | null): void => {
    const query = [`symbols=${symbolsParam(options.symbols)}`, `client=${options.clientId}`]
    // A new EventSource cannot set Last-Event-ID, so a switch from another transport resumes
    // with the query parameter; EventSource's own reconnects then send the header, which wins.
    if (resumeFrom !== null) query.push(`lastEventId=${encodeURIComponent(resumeFrom)}`)
    const es = new EventSource(`${options.baseUrl}/v1/stream?${query.join('&')}`)
    source = es
    setState({ state: 'connecting', detail: `EventSource → GET /v1/stream (${query[0]})` })
    es.onopen = () => {
      if (closed) return
      if (!opened) {
        opened = true
        setState(
          resumeFrom === null
            ? { state: 'open', detail: 'stream open: snapshot, then live events' }
            : {
                state: 'open',
                resumedFrom: resumeFrom,
                detail: `stream open, resumed after id ${resumeFrom} (lastEventId)`,
              },
        )
        return
      }
      const from = lostAt ?? resumeFrom
      setState(
        from === null
          ? { state: 'open', detail: 'EventSource reconnected' }
          : {
              state: 'open',
              resumedFrom: from,
              detail: `EventSource reconnected with Last-Event-ID: ${from}; the server replayed the gap`,
            },
      )
    }
    es.onerror = () => {
      if (closed) return
      if (es.readyState === EventSource.CONNECTING) {
        if (state !== 'reconnecting') lostAt = lastId
        setState({
          state: 'reconnecting',
          detail: `connection lost after id ${lastId ?? '—'}; EventSource retries after the server's retry: interval`,
        })
        return
      }
      // CLOSED: EventSource will not try again (a non-200 answer or a wrong content type).
      // Start a new one, resuming by id, after a pause.
      es.close()
      lostAt = lastId
      setState({ state: 'closed', detail: 'EventSource gave up (the server answered non-200)' })
      timer = setTimeout(() => {
        if (!closed) connect(lastId)
      }, options.reconnectDelayMs)
    }
    for (const type of EVENT_TYPES) es.addEventListener(type, onMessage)
  }

  connect(options.lastEventId)
  return {
    name: 'sse',
    close() {
      closed = true
      clearTimeout(timer)
      source?.close()
    },
  }
}
