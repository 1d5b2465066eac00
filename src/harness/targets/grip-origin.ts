import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * The backend the harness brings for Pushpin, which keeps no state of its own and asks its origin
 * what each new connection is. Both transports use the same path, `/sub/AAPL,MSFT` (the channels,
 * comma-separated):
 *
 * - `GET` answers GRIP hold instructions (`Grip-Hold: stream`, `Grip-Channel`), so Pushpin keeps
 *   the response open as an event stream subscribed to those channels.
 * - `POST` with `Content-Type: application/websocket-events` is a WebSocket that Pushpin turns
 *   into HTTP requests (a route with `over_http`): the `OPEN` event is accepted with the GRIP
 *   extension and one `c:{"type":"subscribe",…}` control message per channel, after which Pushpin
 *   delivers each published `ws-message` as a text message.
 *
 * `GET /ready` answers a plain 200: a request that went the whole way through Pushpin.
 */
export interface GripOrigin {
  readonly port: number
  close(): Promise<void>
}

export interface GripOriginOptions {
  /** Default 127.0.0.1. */
  readonly host?: string
  /** Default 0 (an ephemeral port, read back from `port`). */
  readonly port?: number
}

const WEBSOCKET_EVENTS = 'application/websocket-events'
/** A WebSocket-over-HTTP request carries a few events; anything larger is not Pushpin's. */
const MAX_EVENTS_BODY_BYTES = 64 * 1024

export async function createGripOrigin(options: GripOriginOptions = {}): Promise<GripOrigin> {
  const server: Server = createServer((request, response) => {
    const channels = channelsOf(request.url ?? '')
    if (channels === null) {
      const ready = request.url === '/ready'
      response.writeHead(ready ? 200 : 404, { 'Content-Type': 'text/plain' })
      response.end(ready ? 'ready\n' : 'not found\n')
    } else if (request.method === 'POST' && isWebSocketEvents(request)) {
      answerWebSocketEvents(request, response, channels)
    } else {
      response.writeHead(200, {
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-cache',
        'Grip-Hold': 'stream',
        'Grip-Channel': channels.join(', '),
      })
      // The initial body opens the stream before any publish; a comment line carries no event.
      response.end(':subscribed\n\n')
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  return {
    port,
    close: () => {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

/** `/sub/AAPL,MSFT` → `['AAPL', 'MSFT']`; null for any other path. */
function channelsOf(url: string): string[] | null {
  const match = /^\/sub\/([^/?#]+)(?:\?.*)?$/.exec(url)
  if (match === null) return null
  try {
    const channels = match[1]!.split(',').map(decodeURIComponent)
    // Grip-Channel is itself a comma-separated list: a channel with a comma could not be said.
    return channels.every((channel) => channel !== '' && !/[,\s]/.test(channel)) ? channels : null
  } catch {
    return null
  }
}

function isWebSocketEvents(request: IncomingMessage): boolean {
  return (request.headers['content-type'] ?? '').split(';')[0]!.trim() === WEBSOCKET_EVENTS
}

/**
 * One WebSocket-over-HTTP request: its events in, the answering events out. The client never
 * speaks to a subscriber here, so TEXT and BINARY from it are taken and dropped; PING is answered
 * with PONG and CLOSE with CLOSE, as the protocol asks of an origin that accepts them.
 */
function answerWebSocketEvents(
  request: IncomingMessage,
  response: ServerResponse,
  channels: readonly string[],
): void {
  const chunks: Buffer[] = []
  let bytes = 0
  request.on('data', (chunk: Buffer) => {
    bytes += chunk.length
    if (bytes <= MAX_EVENTS_BODY_BYTES) chunks.push(chunk)
  })
  request.on('end', () => {
    const events =
      bytes <= MAX_EVENTS_BODY_BYTES ? parseWebSocketEvents(Buffer.concat(chunks)) : null
    if (events === null) {
      response.writeHead(400, { 'Content-Type': 'text/plain' })
      response.end('malformed websocket-events body\n')
      return
    }
    const out: Buffer[] = []
    for (const event of events) {
      if (event.type === 'OPEN') {
        out.push(encodeWebSocketEvent('OPEN', null))
        for (const channel of channels) {
          const control = `c:${JSON.stringify({ type: 'subscribe', channel })}`
          out.push(encodeWebSocketEvent('TEXT', Buffer.from(control)))
        }
      } else if (event.type === 'PING') {
        out.push(encodeWebSocketEvent('PONG', event.content))
      } else if (event.type === 'CLOSE') {
        out.push(encodeWebSocketEvent('CLOSE', event.content))
      }
    }
    response.writeHead(200, {
      'Content-Type': WEBSOCKET_EVENTS,
      // GRIP over the socket: the origin's `c:` messages are instructions to Pushpin, not text
      // for the client.
      'Sec-WebSocket-Extensions': 'grip',
    })
    response.end(Buffer.concat(out))
  })
}

export interface WebSocketEvent {
  readonly type: string
  readonly content: Buffer | null
}

/**
 * The body format of Pushpin's WebSocket-over-HTTP: events one after another, each `TYPE\r\n` or
 * `TYPE <hex byte length>\r\n<content>\r\n`. Null when the body does not follow it.
 */
export function parseWebSocketEvents(body: Buffer): WebSocketEvent[] | null {
  const events: WebSocketEvent[] = []
  let at = 0
  while (at < body.length) {
    const lineEnd = body.indexOf('\r\n', at)
    if (lineEnd < 0) return null
    const line = body.toString('latin1', at, lineEnd)
    const match = /^([A-Z]+)(?: ([0-9A-Fa-f]+))?$/.exec(line)
    if (match === null) return null
    at = lineEnd + 2
    if (match[2] === undefined) {
      events.push({ type: match[1]!, content: null })
      continue
    }
    const length = Number.parseInt(match[2], 16)
    if (
      at + length + 2 > body.length ||
      body.toString('latin1', at + length, at + length + 2) !== '\r\n'
    ) {
      return null
    }
    events.push({ type: match[1]!, content: body.subarray(at, at + length) })
    at += length + 2
  }
  return events
}

export function encodeWebSocketEvent(type: string, content: Buffer | null): Buffer {
  if (content === null) return Buffer.from(`${type}\r\n`)
  return Buffer.concat([
    Buffer.from(`${type} ${content.length.toString(16)}\r\n`),
    content,
    Buffer.from('\r\n'),
  ])
}
