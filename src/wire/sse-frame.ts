/**
 * SSE framing (WHATWG HTML §9.2, reference/sse.md §4.2): every event is `id:` + `event:` + one
 * `data:` line + a blank line, LF endings only, encoded to bytes once and shared by every
 * subscriber. Ids are the global sequence in decimal ASCII: short, strictly increasing, and free
 * of CORS-unsafe bytes, so a cross-origin reconnect with `Last-Event-ID` needs no preflight.
 */

const encoder = new TextEncoder()

/** Event types we send. `open`, `error` and `message` are avoided: EventSource treats them specially. */
export type SseEventType = 'quote' | 'trade' | 'status' | 'snapshot'

/**
 * One event as bytes. `json` must be a single line (our payloads are built without raw CR/LF);
 * a payload with a newline would need one `data:` line per line.
 */
export function encodeSseEvent(id: number, type: SseEventType, json: string): Uint8Array {
  return encoder.encode(`id: ${id}\nevent: ${type}\ndata: ${json}\n\n`)
}

/**
 * The heartbeat: a comment line, invisible to EventSource, that keeps proxies and load balancers
 * from timing the stream out (the spec's authoring note suggests about every 15 s). A comment
 * never ends an event, so it is safe between any two writes.
 */
export const SSE_HEARTBEAT: Uint8Array = encoder.encode(':hb\n\n')

/**
 * `retry:` must be all ASCII digits; browsers reset to their default (3 s) on an empty value and
 * ignore values that overflow, so it is clamped to [0, 2^31−1] and always written.
 */
export function encodeSseRetry(retryMs: number): Uint8Array {
  return encoder.encode(`retry: ${retryValue(retryMs)}\n\n`)
}

/** The first bytes of every stream: the reconnection time and a comment, flushed with the headers
 * so `open` fires at once (nothing else would be sent until the next matching tick). */
export function encodeSsePreamble(retryMs: number, headSeq: number): Uint8Array {
  return encoder.encode(`retry: ${retryValue(retryMs)}\n:connected seq=${headSeq}\n\n`)
}

function retryValue(retryMs: number): number {
  return Math.min(Math.max(Math.round(retryMs), 0), 2_147_483_647)
}

/**
 * Concatenates encoded events into one buffer, so a frame costs one write per connection (uWS
 * flushes at the end of each cork: one write per event would mean one send per event).
 */
export function concatSse(events: readonly { readonly sse: Uint8Array }[]): Uint8Array {
  if (events.length === 1) return events[0]!.sse
  let total = 0
  for (let i = 0; i < events.length; i++) total += events[i]!.sse.length
  const out = new Uint8Array(total)
  let offset = 0
  for (let i = 0; i < events.length; i++) {
    const bytes = events[i]!.sse
    out.set(bytes, offset)
    offset += bytes.length
  }
  return out
}
