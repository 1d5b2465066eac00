import {
  type ClientHttp2Session,
  connect,
  type IncomingHttpHeaders,
  type IncomingHttpStatusHeader,
} from 'node:http2'
import { gunzipSync } from 'node:zlib'
import { nowUs } from '../../src/clock.js'
import { createSseParser, type SseEvent } from '../../src/wire/sse-parser.js'

export type H2Headers = IncomingHttpHeaders & IncomingHttpStatusHeader

/** An HTTP/2 session over TLS to `origin`; the tests' certificates are self-signed. */
export function connectH2(origin: string): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(origin, { rejectUnauthorized: false })
    session.once('connect', () => resolve(session))
    session.once('error', reject)
  })
}

/** One complete response; a gzip body is inflated, the header still says it was compressed. */
export async function h2Get(
  session: ClientHttp2Session,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: H2Headers; body: string }> {
  const request = session.request({ ':path': path, ...headers })
  const response = await new Promise<H2Headers>((resolve, reject) => {
    request.once('response', resolve)
    request.once('error', reject)
  })
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  const raw = Buffer.concat(chunks)
  const body = response['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw
  return { status: Number(response[':status']), headers: response, body: body.toString() }
}

/** A dispatched event or a comment, with the time its bytes arrived (epoch µs, as `ts`). */
export interface Timed<T> {
  readonly value: T
  readonly receivedUs: number
}

export interface H2SseStream {
  readonly status: number
  readonly headers: H2Headers
  readonly events: Timed<SseEvent>[]
  readonly comments: Timed<string>[]
  /** How many DATA reads the body came in. */
  readonly reads: () => number
  readonly isEnded: () => boolean
  close(): void
}

/**
 * An event stream over one HTTP/2 stream of `session`, fed as it arrives through the project's
 * WHATWG parser. Every event and comment is stamped with the arrival of the read it came in, so
 * a test sees what a proxy held back.
 */
export async function openH2Sse(
  session: ClientHttp2Session,
  path: string,
  headers: Record<string, string> = {},
): Promise<H2SseStream> {
  const request = session.request({ ':path': path, accept: 'text/event-stream', ...headers })
  const response = await new Promise<H2Headers>((resolve, reject) => {
    request.once('response', resolve)
    request.once('error', reject)
  })
  const events: Timed<SseEvent>[] = []
  const comments: Timed<string>[] = []
  let receivedUs = 0
  let reads = 0
  let ended = false
  const parser = createSseParser({
    onEvent: (value) => events.push({ value, receivedUs }),
    onComment: (value) => comments.push({ value, receivedUs }),
  })
  request.on('data', (chunk: Buffer) => {
    receivedUs = nowUs()
    reads++
    parser.feed(chunk)
  })
  request.on('close', () => {
    ended = true
  })
  // A stream cancelled by close() errors with its RST_STREAM code; that is how it is meant to end.
  request.on('error', () => {})
  return {
    status: Number(response[':status']),
    headers: response,
    events,
    comments,
    reads: () => reads,
    isEnded: () => ended,
    close: () => request.close(),
  }
}
