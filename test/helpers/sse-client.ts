import { createSseParser, type SseEvent } from '../../src/wire/sse-parser.js'

export interface SseCollector {
  readonly status: number
  readonly headers: Headers
  readonly events: SseEvent[]
  readonly comments: string[]
  readonly retries: number[]
  /** Resolves when the server ends the response (or the client aborts it). */
  readonly ended: Promise<void>
  readonly isEnded: () => boolean
  /** Why the stream ended, when the connection broke rather than ended cleanly. */
  readonly failure: () => unknown
  close(): void
}

/** Opens a stream with `fetch` and feeds it, as bytes, through the project's SSE parser. */
export async function openSse(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<SseCollector> {
  const controller = new AbortController()
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { accept: 'text/event-stream', ...init.headers },
    ...(init.body === undefined ? {} : { body: init.body }),
    signal: controller.signal,
  })
  const events: SseEvent[] = []
  const comments: string[] = []
  const retries: number[] = []
  const parser = createSseParser({
    onEvent: (event) => events.push(event),
    onComment: (comment) => comments.push(comment),
    onRetry: (ms) => retries.push(ms),
  })
  let ended = false
  let failure: unknown
  const body = response.body
  const done = (async () => {
    if (body === null) return
    try {
      for await (const chunk of body) parser.feed(chunk as Uint8Array)
    } catch (error) {
      // A cut connection ends the stream too; the test reads how through `failure`.
      if (!controller.signal.aborted) failure = error
    } finally {
      ended = true
    }
  })()
  return {
    status: response.status,
    headers: response.headers,
    events,
    comments,
    retries,
    ended: done,
    isEnded: () => ended,
    failure: () => failure,
    close: () => controller.abort(),
  }
}

/** The JSON payload of an event. */
export function payload<T = Record<string, unknown>>(event: SseEvent): T {
  return JSON.parse(event.data) as T
}
