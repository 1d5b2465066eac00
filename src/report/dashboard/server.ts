/**
 * The live dashboard of a run: a small node:http server on 127.0.0.1 that serves the page and
 * pushes the run to it over Server-Sent Events, one frame per transport per second, then the
 * verdict and the run's report.html. node:http rather than uWebSockets.js: a handful of local
 * browsers at a frame a second need none of uWS's speed, and the dashboard must not compete with
 * the embedded server (a child process) or the subscribers it measures for more than that.
 *
 * It listens on the loopback address only, and answers only requests whose Host is that address
 * or `localhost` with its port: a page elsewhere cannot read the run through DNS rebinding.
 */

import { randomInt } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ERROR_CODES, Problems, TickstormError } from '../../errors.js'
import type { TransportName } from '../measurements.js'
import { createEventHistory, encodeComment, encodeEvent, encodeRetry } from './event-stream.js'
import { createFramer, type DashboardFrame, type DashboardSample } from './frame.js'
import { defaultPageRoot, loadPageFiles, UNBUILT_PAGE } from './page-files.js'

export const DASHBOARD_HOST = '127.0.0.1'
/** How long close() lets a request still being answered finish before cutting it. */
const CLOSE_GRACE_MS = 1000

export interface DashboardOptions {
  /** 0: an ephemeral port (the URL says which). */
  readonly port: number
  /** The run the dashboard shows, for its title and the `hello` event. */
  readonly scenario: string
  readonly transports: readonly TransportName[]
  /** The runId result.json will hold, shown on the page (the `hello` event) to match the two. */
  readonly runId?: string
  /** A comment line this often keeps idle proxies and timers from closing the stream. */
  readonly heartbeatMs?: number
  /** The `retry:` sent first on every stream: how soon a dropped browser comes back. */
  readonly retryMs?: number
  /** Events kept for late and returning browsers (a frame a second per transport). */
  readonly maxEvents?: number
  /** Browsers at once; one more is told to come back later (a `retry:` and the end). */
  readonly maxClients?: number
  /** Bytes a browser may leave unread before it is cut (it resumes from the history). */
  readonly maxBufferedBytes?: number
  /** Directory of the built page; default `dist/dashboard/` (null: a page saying to build it). */
  readonly pageRoot?: string | null
}

export const DEFAULT_DASHBOARD_OPTIONS = Object.freeze({
  heartbeatMs: 15_000,
  retryMs: 1000,
  // Over two hours of one transport's frames; a frame is about 500 bytes.
  maxEvents: 8192,
  maxClients: 16,
  maxBufferedBytes: 1 << 20,
})

/** How a run ended, as the dashboard shows it. */
export interface DashboardDone {
  readonly label: 'PASSED' | 'FAILED' | 'INTERRUPTED'
  readonly reasons: readonly string[]
  /** The result directory, as the CLI printed it. */
  readonly resultDir: string | null
  /** The run's report.html on disk; served at /report.html from now on. */
  readonly reportPath: string | null
}

/**
 * The events as sent (the page restates them in src/web/dashboard/frame.ts; a type test keeps
 * the two the same). `hello` comes first on every stream, without an id.
 */
export interface DashboardHello {
  /** This dashboard's token, the prefix of every event id. */
  readonly run: string
  readonly scenario: string
  readonly runId: string | null
  readonly transports: readonly TransportName[]
  readonly finished: boolean
  readonly historyLimit: number
}

export interface DashboardDoneEvent {
  readonly label: DashboardDone['label']
  readonly passed: boolean
  readonly reasons: readonly string[]
  readonly resultDir: string | null
  /** Where this server serves report.html, or null. */
  readonly report: string | null
}

export interface DashboardStats {
  readonly clients: number
  readonly events: number
  /** Frames dropped from the front of the history to keep its bound. */
  readonly evicted: number
  /** Browsers cut for leaving more than maxBufferedBytes unread. */
  readonly cutSlow: number
  /** Browsers told to come back later because maxClients were connected. */
  readonly turnedAway: number
}

export interface Dashboard {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string
  readonly port: number
  /** A progress report: framed and pushed when it makes a frame (see createFramer). */
  push(sample: DashboardSample, nowMs?: number): DashboardFrame | null
  /** Pushes a frame as it is (tests, replays). */
  publish(frame: DashboardFrame): void
  /** The run is over: the `done` event, and report.html served from now on. */
  finish(done: DashboardDone): void
  stats(): DashboardStats
  /** Ends every stream (after what was written) and stops listening. */
  close(): Promise<void>
}

interface Client {
  readonly res: ServerResponse
  /** The budget grows by what was replayed on connect: a late joiner's history is not lag. */
  readonly budget: number
}

/** The heartbeat, encoded once. */
const HEARTBEAT = encodeComment('keep-alive')

const STREAM_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  // no-transform: a proxy must not gzip or buffer the stream; nginx reads X-Accel-Buffering.
  'Cache-Control': 'no-cache, no-store, no-transform',
  'X-Accel-Buffering': 'no',
  Connection: 'keep-alive',
  'X-Content-Type-Options': 'nosniff',
}

/** Starts the dashboard; fails with TS_ERR_LISTEN_FAILED when the port is taken. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const port = options.port
  resolveDashboardOptions(options)
  const settings = { ...DEFAULT_DASHBOARD_OPTIONS, ...definedOf(options) }
  const files = loadPageFiles(options.pageRoot === undefined ? defaultPageRoot() : options.pageRoot)
  // This process's run: its start, and a few random digits for two started in the same ms.
  const run = `${Date.now().toString(36)}${randomInt(36 ** 3).toString(36)}`
  const history = createEventHistory(settings.maxEvents, run)
  const framer = createFramer()
  const clients = new Set<Client>()
  let done: DashboardDone | null = null
  let cutSlow = 0
  let turnedAway = 0
  let listeningPort = port

  const hello = () => {
    const data: DashboardHello = {
      run,
      scenario: options.scenario,
      runId: options.runId ?? null,
      transports: options.transports,
      finished: done !== null,
      historyLimit: settings.maxEvents,
    }
    return encodeEvent({ event: 'hello', data: JSON.stringify(data) })
  }

  const send = (client: Client, bytes: string): void => {
    // Gone between its close and the 'close' event that forgets it: nothing to write to.
    if (client.res.writableEnded || client.res.destroyed) {
      clients.delete(client)
      return
    }
    client.res.write(bytes)
    if (client.res.writableLength > client.budget) {
      cutSlow++
      clients.delete(client)
      client.res.destroy()
    }
  }
  const broadcast = (event: string, data: unknown): void => {
    const { bytes } = history.append(event, JSON.stringify(data))
    for (const client of clients) send(client, bytes)
  }

  const stream = (req: IncomingMessage, res: ServerResponse): void => {
    if (clients.size >= settings.maxClients) {
      turnedAway++
      // Never an error status for a stream: EventSource gives up for good on one.
      res.writeHead(200, STREAM_HEADERS)
      res.end(encodeRetry(Math.max(settings.retryMs, 5000)))
      return
    }
    req.socket.setNoDelay(true)
    req.socket.setTimeout(0)
    res.writeHead(200, STREAM_HEADERS)
    const lastEventId = header(req, 'last-event-id')
    const missing = history.since(lastEventId)
    let replay = encodeRetry(settings.retryMs) + hello()
    // Sent only to a browser that showed something (it said an id) it must now forget.
    if (missing.reset && lastEventId !== undefined)
      replay += encodeEvent({ event: 'reset', data: '{}' })
    for (const event of missing.events) replay += event.bytes
    const client: Client = {
      res,
      budget: settings.maxBufferedBytes + Buffer.byteLength(replay),
    }
    clients.add(client)
    res.on('close', () => clients.delete(client))
    // A broken connection ends that browser's stream, never the run (it resumes by id).
    res.on('error', () => clients.delete(client))
    send(client, replay)
  }

  const reportFile = async (res: ServerResponse, head: boolean): Promise<void> => {
    if (done?.reportPath == null) {
      return text(res, 404, 'report.html is written when the run ends\n')
    }
    try {
      const bytes = await readFile(done.reportPath)
      res.writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Length': bytes.length,
        'Cache-Control': 'no-cache',
      })
      res.end(head ? undefined : bytes)
    } catch {
      text(res, 404, 'report.html could not be read\n')
    }
  }

  const server = createServer((req, res) => {
    const host = header(req, 'host')
    if (host !== `${DASHBOARD_HOST}:${listeningPort}` && host !== `localhost:${listeningPort}`) {
      return text(res, 421, 'this dashboard answers on 127.0.0.1 only\n')
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD')
      return text(res, 405, 'method not allowed\n')
    }
    const path = new URL(req.url ?? '/', 'http://dashboard').pathname
    if (path === '/events') return stream(req, res)
    if (path === '/report.html') return void reportFile(res, req.method === 'HEAD')
    const file = files.get(path)
    if (file === undefined) {
      if (path === '/' || path === '/index.html') {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
        return void res.end(UNBUILT_PAGE)
      }
      return text(res, 404, 'not found\n')
    }
    res.writeHead(200, {
      'Content-Type': file.contentType,
      'Content-Length': file.bytes.length,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
    })
    res.end(req.method === 'HEAD' ? undefined : file.bytes)
  })
  // Browsers keep a few idle connections each; more than this is not a browser on this host.
  server.maxConnections = settings.maxClients * 4

  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) =>
      reject(
        new TickstormError(
          ERROR_CODES.LISTEN_FAILED,
          `the dashboard could not listen on ${DASHBOARD_HOST}:${port}: ${error.code ?? error.message}`,
          { cause: error },
        ),
      )
    server.once('error', failed)
    server.listen(port, DASHBOARD_HOST, () => {
      server.off('error', failed)
      resolve()
    })
  })
  listeningPort = (server.address() as AddressInfo).port

  // One timer for every browser; it does not hold the process open.
  const heartbeat = setInterval(() => {
    for (const client of clients) send(client, HEARTBEAT)
  }, settings.heartbeatMs)
  heartbeat.unref()

  return {
    url: `http://${DASHBOARD_HOST}:${listeningPort}/`,
    port: listeningPort,
    push(sample, nowMs = Date.now()) {
      const frame = framer(sample, nowMs)
      if (frame !== null) broadcast('frame', frame)
      return frame
    },
    publish(frame) {
      broadcast('frame', frame)
    },
    finish(outcome) {
      done = outcome
      const data: DashboardDoneEvent = {
        label: outcome.label,
        passed: outcome.label === 'PASSED',
        reasons: outcome.reasons,
        resultDir: outcome.resultDir,
        report: outcome.reportPath === null ? null : '/report.html',
      }
      broadcast('done', data)
    },
    stats: () => ({
      clients: clients.size,
      events: history.size,
      evicted: history.evicted,
      cutSlow,
      turnedAway,
    }),
    async close() {
      clearInterval(heartbeat)
      for (const client of clients) client.res.end()
      clients.clear()
      await new Promise<void>((resolve) => {
        // Ended streams leave idle keep-alive connections, which close() closes; a request
        // still being answered gets a moment, then its connection is cut.
        const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS)
        cut.unref()
        server.close(() => {
          clearTimeout(cut)
          resolve()
        })
        server.closeIdleConnections()
      })
    },
  }
}

/** Checks the options, every problem at once, each with its path and value. */
function resolveDashboardOptions(options: DashboardOptions): void {
  const problems = new Problems()
  const port = options.port
  if (!(Number.isInteger(port) && port >= 0 && port <= 65_535)) {
    problems.add('port', 'must be an integer from 0 to 65535', port)
  }
  const positive = [
    'heartbeatMs',
    'retryMs',
    'maxEvents',
    'maxClients',
    'maxBufferedBytes',
  ] as const
  for (const key of positive) {
    const value = options[key]
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
      problems.add(key, 'must be an integer ≥ 1', value)
    }
  }
  problems.throwIfAny('dashboard options')
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return Array.isArray(value) ? value[0] : value
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  })
  res.end(body)
}

/** The options given, without the keys set to undefined (they must not hide the defaults). */
function definedOf(options: DashboardOptions): Partial<typeof DEFAULT_DASHBOARD_OPTIONS> {
  const picked: Record<string, number> = {}
  for (const key of Object.keys(DEFAULT_DASHBOARD_OPTIONS)) {
    const value = (options as unknown as Record<string, unknown>)[key]
    if (typeof value === 'number') picked[key] = value
  }
  return picked
}
