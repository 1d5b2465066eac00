import { toStreamEvent } from './stream-event.js'
import type { ConnectionState, OpenTransport, StateChange } from './transport.js'
import { symbolsParam } from './transport.js'

/** How long the server may hold a poll open when nothing is new (its default; at most 120 s). */
const POLL_TIMEOUT_MS = 25_000

interface PollBody {
  readonly events: readonly { id: string; event: string; data: unknown }[]
  readonly cursor: string
  readonly reset?: boolean
}

/**
 * Long polling with `fetch`: one request at a time, each carrying the cursor the last answer
 * returned, so a lost request costs nothing: the next one asks again from the same cursor (the
 * same number as an SSE id, so a switch from SSE resumes exactly). One request in flight per tab
 * keeps to one of the browser's six connections per host, like one EventSource.
 */
export const openLongPoll: OpenTransport = (options) => {
  const { handlers } = options
  const controller = new AbortController()
  const { signal } = controller
  let state: ConnectionState | null = null
  let cursor = options.lastEventId

  const setState = (change: StateChange): void => {
    if (change.state === state) return
    state = change.state
    handlers.onState(change)
  }

  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms)
      signal.addEventListener('abort', () => {
        clearTimeout(timer)
        resolve()
      })
    })

  const loop = async (): Promise<void> => {
    setState({ state: 'connecting', detail: 'fetch → GET /v1/poll, one request at a time' })
    /** The cursor the stream resumes from when the next answer arrives, if any. */
    let resumeFrom = options.lastEventId
    while (!signal.aborted) {
      const query = [
        `symbols=${symbolsParam(options.symbols)}`,
        `timeoutMs=${POLL_TIMEOUT_MS}`,
        `client=${options.clientId}`,
      ]
      if (cursor !== null) query.push(`cursor=${encodeURIComponent(cursor)}`)
      let retryMs = options.reconnectDelayMs
      try {
        const response = await fetch(`${options.baseUrl}/v1/poll?${query.join('&')}`, {
          signal,
          cache: 'no-store',
        })
        if (!response.ok) {
          const retryAfter = Number(response.headers.get('Retry-After'))
          if (retryAfter > 0) retryMs = retryAfter * 1000
          throw new Error(`HTTP ${response.status}`)
        }
        const body = (await response.json()) as PollBody
        if (signal.aborted) return
        if (state !== 'open') {
          setState(
            resumeFrom === null
              ? { state: 'open', detail: 'polling: snapshot, then the events after each cursor' }
              : {
                  state: 'open',
                  resumedFrom: resumeFrom,
                  detail: `polling again from cursor=${resumeFrom}; nothing was lost`,
                },
          )
        }
        for (const wire of body.events) {
          const event = toStreamEvent(wire.id, wire.event, wire.data)
          if (event !== null) handlers.onEvent(event)
          if (signal.aborted) return
        }
        cursor = body.cursor
      } catch (error) {
        if (signal.aborted) return
        resumeFrom = cursor
        setState({
          state: 'reconnecting',
          detail: `poll failed (${error instanceof Error ? error.message : String(error)}); retrying with cursor=${cursor ?? '—'}`,
        })
        await pause(retryMs)
      }
    }
  }

  void loop()
  return {
    name: 'longpoll',
    close: () => controller.abort(),
  }
}
