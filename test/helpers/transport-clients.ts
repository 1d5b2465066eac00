import WebSocket from 'ws'
import { openSse } from './sse-client.js'
import { waitFor } from './wait.js'

/** One event as every transport delivers it: the SSE fields, `data` parsed. */
export interface ReceivedEvent {
  readonly id: string
  readonly type: string
  // biome-ignore lint/suspicious/noExplicitAny: payloads are asserted field by field in tests
  readonly data: any
}

export interface TransportClient {
  readonly transport: TransportName
  /** Everything received so far, in order. */
  events(): ReceivedEvent[]
  /** Heartbeats (SSE comments, WebSocket `hb` messages, long polls that timed out empty). */
  readonly keepalives: () => number
  /** Coded errors the server sent in-band (WebSocket error frames). */
  readonly errors: { code: string; message: string }[]
  /** Set when the server ended the connection: how it ended. */
  readonly ended: () => { how: string; code?: number; reason?: string } | null
  close(): void
}

export type TransportName = 'sse' | 'longpoll' | 'ws'

export interface ConnectOptions {
  readonly symbols?: readonly string[]
  readonly lastEventId?: string
  readonly snapshot?: boolean
  /** Long polling only: the per-request timeout. */
  readonly pollTimeoutMs?: number
  /** The client's own id, so the test can ask the server to cut it (POST /v1/drop). */
  readonly clientId?: string
}

export type Connect = (baseUrl: string, options?: ConnectOptions) => Promise<TransportClient>

/** Long-poll and WebSocket events carry the SSE fields as `{id, event, data}`. */
interface WireEvent {
  readonly id: string
  readonly event: string
  readonly data: unknown
}
const fromWire = (event: WireEvent): ReceivedEvent => ({
  id: event.id,
  type: event.event,
  data: event.data,
})

const symbolsQuery = (symbols?: readonly string[]) =>
  symbols === undefined ? [] : [`symbols=${symbols.join(',')}`]

export const connectSse: Connect = async (baseUrl, options = {}) => {
  const query = [...symbolsQuery(options.symbols)]
  if (options.snapshot === false) query.push('snapshot=false')
  if (options.clientId !== undefined) query.push(`client=${options.clientId}`)
  const headers: Record<string, string> =
    options.lastEventId === undefined ? {} : { 'last-event-id': options.lastEventId }
  const stream = await openSse(`${baseUrl}/v1/stream?${query.join('&')}`, { headers })
  return {
    transport: 'sse',
    events: () =>
      stream.events.map((event) => ({
        id: event.lastEventId,
        type: event.type,
        data: JSON.parse(event.data),
      })),
    keepalives: () => stream.comments.filter((comment) => comment === 'hb').length,
    errors: [],
    ended: () =>
      stream.isEnded() ? { how: 'end', reason: `retry ${stream.retries.at(-1)}` } : null,
    close: () => stream.close(),
  }
}

export const connectLongPoll: Connect = async (baseUrl, options = {}) => {
  const events: ReceivedEvent[] = []
  const controller = new AbortController()
  let keepalives = 0
  let ended: { how: string; code?: number; reason?: string } | null = null
  let cursor = options.lastEventId
  const timeoutMs = options.pollTimeoutMs ?? 25_000
  let first = true

  const loop = async () => {
    while (!controller.signal.aborted) {
      const query = [...symbolsQuery(options.symbols), `timeoutMs=${timeoutMs}`]
      if (options.clientId !== undefined) query.push(`client=${options.clientId}`)
      if (cursor !== undefined) query.push(`cursor=${cursor}`)
      let response: Response
      try {
        response = await fetch(`${baseUrl}/v1/poll?${query.join('&')}`, {
          signal: controller.signal,
        })
      } catch (error) {
        if (!controller.signal.aborted) ended = { how: 'error', reason: String(error) }
        return
      }
      if (response.status !== 200) {
        ended = { how: 'status', code: response.status, reason: await response.text() }
        return
      }
      const body = (await response.json()) as { events: WireEvent[]; cursor: string }
      const fresh = first && options.lastEventId === undefined
      first = false
      // A fresh poll answers with a snapshot; a client that asked for none skips it.
      if (!(fresh && options.snapshot === false)) events.push(...body.events.map(fromWire))
      if (body.events.length === 0) keepalives++
      cursor = body.cursor
    }
  }
  void loop()
  return {
    transport: 'longpoll',
    events: () => events,
    keepalives: () => keepalives,
    errors: [],
    ended: () => ended,
    close: () => controller.abort(),
  }
}

export const connectWs: Connect = async (baseUrl, options = {}) => {
  const client = options.clientId === undefined ? '' : `?client=${options.clientId}`
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/ws${client}`)
  const events: ReceivedEvent[] = []
  const errors: { code: string; message: string }[] = []
  let keepalives = 0
  let ended: { how: string; code?: number; reason?: string } | null = null
  socket.on('message', (raw) => {
    const message = JSON.parse(raw.toString())
    if (Array.isArray(message)) events.push(...(message as WireEvent[]).map(fromWire))
    else if (message.op === 'hb') keepalives++
    else if (message.op === 'error') errors.push({ code: message.code, message: message.message })
  })
  socket.on('close', (code, reason) => {
    ended = { how: 'close', code, reason: reason.toString() }
  })
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve())
    socket.once('error', reject)
  })
  const subscribe: Record<string, unknown> = { op: 'subscribe' }
  subscribe['symbols'] = options.symbols ?? '*'
  if (options.lastEventId !== undefined) subscribe['lastEventId'] = options.lastEventId
  if (options.snapshot !== undefined) subscribe['snapshot'] = options.snapshot
  socket.send(JSON.stringify(subscribe))
  return {
    transport: 'ws',
    events: () => events,
    keepalives: () => keepalives,
    errors,
    ended: () => ended,
    close: () => socket.terminate(),
  }
}

export const CONNECT: Readonly<Record<TransportName, Connect>> = {
  sse: connectSse,
  longpoll: connectLongPoll,
  ws: connectWs,
}

/** Sends a raw WebSocket message on a fresh socket and returns the server's replies. */
export async function wsExchange(baseUrl: string, messages: string[], replies: number) {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/ws`)
  const received: unknown[] = []
  socket.on('message', (raw) => {
    const message = JSON.parse(raw.toString())
    if (!(message && message.op === 'hb')) received.push(message)
  })
  await new Promise<void>((resolve) => socket.once('open', () => resolve()))
  for (const message of messages) socket.send(message)
  await waitFor(`${replies} WebSocket replies`, () => received.length >= replies, {
    state: () => received,
  })
  return { received, socket }
}
