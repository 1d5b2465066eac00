/**
 * The JSON shapes of the long-poll and WebSocket transports. Both carry the same events as SSE,
 * with the same ids, as `{"id":"123","event":"quote","data":{…}}`: the SSE fields as an object,
 * so a client can switch transport and resume by id. Built by concatenating each event's
 * pre-encoded JSON payload; nothing is re-serialized.
 */

/** The parts of a feed event these encoders need. */
export interface EncodableEvent {
  readonly seq: number
  readonly type: string
  readonly json: string
}

export function encodeEventObject(event: EncodableEvent): string {
  return `{"id":"${event.seq}","event":"${event.type}","data":${event.json}}`
}

/** `[{event}, …]`: one WebSocket text message per frame (and per replay chunk). */
export function encodeEventArray(events: readonly EncodableEvent[]): string {
  let out = '['
  for (let i = 0; i < events.length; i++) {
    if (i > 0) out += ','
    out += encodeEventObject(events[i]!)
  }
  return `${out}]`
}

/**
 * A long-poll answer: the events after the request's cursor and the cursor to send next. `reset`
 * says the request's cursor could not be served (too old, unknown, malformed) and a snapshot
 * replaces what it missed.
 */
export function encodePollBody(
  events: readonly EncodableEvent[],
  cursor: number,
  reset = false,
): string {
  return `{"events":${encodeEventArray(events)},"cursor":"${cursor}"${reset ? ',"reset":true' : ''}}`
}
