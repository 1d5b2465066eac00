/**
 * How a target's subscribers connect and read, as plain data: the adapters (tickstorm, nchan,
 * Pushpin, generic) each describe their server this way, and the engines (which run in worker
 * threads, where only data crosses) follow the description. One measuring code path for every
 * server: no engine knows which server it talks to.
 */

/** Where the harness reads an event's scheduled time, sequence and key in its JSON payload. */
export interface EventFieldSpec {
  /** A JSON path of the scheduled time: `$.ts`, `$.meta.time`. */
  readonly time: string
  readonly timeUnit: 'ns' | 'us' | 'ms' | 's'
  /** A JSON path of the per-key sequence (an integer ≥ 0): gaps and duplicates are read from it. */
  readonly sequence: string
  /** A JSON path of the key (the symbol) the sequence counts within; null: one sequence per stream. */
  readonly key: string | null
}

/** tickstorm's own tick payload (`{"ts":…,"sym":"…","q":…}`), which the harness's publisher writes too. */
export const TICKSTORM_EVENT_FIELDS: EventFieldSpec = Object.freeze({
  time: '$.ts',
  timeUnit: 'us',
  sequence: '$.q',
  key: '$.sym',
})

export function isTickstormEventFields(fields: EventFieldSpec): boolean {
  return (
    fields.time === '$.ts' &&
    fields.timeUnit === 'us' &&
    fields.sequence === '$.q' &&
    fields.key === '$.sym'
  )
}

/** A stream's path: `{symbols}` is the watch-list joined by `symbolSeparator`. */
export interface SseSpec {
  readonly path: string
  /** How a reconnect asks for what it missed: the `Last-Event-ID` header, or a query parameter. */
  readonly resume: 'last-event-id' | { readonly query: string } | 'none'
}

export interface LongPollSpec {
  /** `{symbols}`, and `{cursor}` (the previous answer's cursor; empty on the first poll). */
  readonly path: string
  /** A query parameter carrying the cursor once there is one (tickstorm's `cursor`), or null. */
  readonly cursorQuery: string | null
  /**
   * `events`: a JSON body `{ events: [{ id, event, data }], cursor }` (tickstorm's; `data` is the
   * payload object, and an element without `data` is the payload itself).
   * `message`: each answer is one event's payload, and the next poll carries the answer's
   * `Last-Modified` and `ETag` as `If-Modified-Since` and `If-None-Match` (nchan's protocol);
   * 304 and 408 answers are "nothing new yet".
   */
  readonly answer: 'events' | 'message'
}

export interface WsSpec {
  /** `{symbols}` as for SSE (a server that subscribes by path). */
  readonly path: string
  /**
   * The text sent once the socket opens, or null when the path subscribes: `{symbols}` is the
   * watch-list as a JSON array (or `"*"` for every symbol).
   */
  readonly subscribe: string | null
  /** The subscribe message's field that carries the last id received on a reconnect, or null. */
  readonly resumeField: string | null
  /** The handshake header that carries the last id received on a reconnect, or null. */
  readonly resumeHeader: string | null
  /**
   * `events`: each message a JSON array of `{ id, event, data }` (and `{ op: "error" }`);
   * `message`: each message one event's payload;
   * `meta`: each message `id: <id>` and other header lines, a blank line, then the payload
   * (nchan's `ws+meta.nchan` subprotocol, which is how a WebSocket learns nchan's ids).
   */
  readonly frames: 'events' | 'message' | 'meta'
  /** Subprotocols offered in the handshake. */
  readonly protocols: readonly string[]
}

export interface WireSpec {
  /** Request headers every subscriber sends (credentials, cookies). */
  readonly headers: Readonly<Record<string, string>>
  /** Query parameters every subscriber's requests carry (credentials). */
  readonly query: Readonly<Record<string, string>>
  /** How a watch-list is written for `{symbols}` in a path. */
  readonly symbolSeparator: string
  /** `{symbols}` for a subscriber of every symbol, or null to list them all. */
  readonly everySymbol: string | null
  readonly sse: SseSpec | null
  readonly longpoll: LongPollSpec | null
  readonly ws: WsSpec | null
  /**
   * The request/response endpoints the `http` transport loads (closed-loop, autocannon), path
   * templates with `{symbols}`; null when the target offers none.
   */
  readonly http: { readonly paths: readonly string[] } | null
  readonly event: EventFieldSpec
  /**
   * Events of a snapshot (`event: snapshot`, tickstorm's resume and opening state) are read as
   * such; other servers send none.
   */
  readonly snapshots: boolean
  /**
   * A signed token per subscriber (tickstorm's auth), minted from this HS256 secret with the
   * subscriber's symbols as its claim and sent as `Authorization: Bearer`. Null: none.
   */
  readonly token: { readonly secret: string; readonly ttlSec: number } | null
}

/** The watch-list as `{symbols}` writes it in a path. */
export function symbolsText(
  spec: WireSpec,
  symbols: readonly string[] | null,
  universe: readonly string[],
): string {
  if (symbols === null) {
    return spec.everySymbol ?? universe.map(encodeURIComponent).join(spec.symbolSeparator)
  }
  return symbols.map(encodeURIComponent).join(spec.symbolSeparator)
}

/** Fills `{name}` placeholders; a path without a placeholder is taken as it is. */
export function fillTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole)
}

/** Appends query parameters to a path that may already have some. */
export function withQuery(path: string, query: Readonly<Record<string, string>>): string {
  const entries = Object.entries(query)
  if (entries.length === 0) return path
  const text = entries
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&')
  return `${path}${path.includes('?') ? '&' : '?'}${text}`
}

/**
 * A request target for one subscriber: the base URL's path, the template filled in, and the
 * target's query credentials appended.
 */
export function requestPath(
  base: URL,
  spec: WireSpec,
  template: string,
  values: Readonly<Record<string, string>>,
): string {
  return withQuery(
    `${base.pathname.replace(/\/$/, '')}${fillTemplate(template, values)}`,
    spec.query,
  )
}

export function unknownPlaceholders(template: string, allowed: readonly string[]): string[] {
  return [...template.matchAll(/\{(\w+)\}/g)]
    .map((match) => match[1]!)
    .filter((name) => !allowed.includes(name))
}

/** Headers as HTTP/1.1 header lines, each ending in CRLF. */
export function headerLines(headers: Readonly<Record<string, string>>): string {
  let lines = ''
  for (const [name, value] of Object.entries(headers)) lines += `${name}: ${value}\r\n`
  return lines
}
