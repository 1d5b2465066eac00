import { nowUs } from '../clock.js'
import type { LogSource } from '../feed/log-source.js'
import type { Market } from '../market/types.js'
import { createAuthenticator } from './auth.js'
import { createClientRegistry } from './client-registry.js'
import { createCorsPolicy } from './cors.js'
import { createFanout } from './fanout.js'
import { type HealthDocument, healthOf } from './health.js'
import { mountInfoRoutes, type WholeServer } from './info-routes.js'
import { createConnectionLimiter } from './limits.js'
import { listenApp } from './listen.js'
import { nativeUws } from './native-uws.js'
import { createServerMetrics, type MetricsJson } from './prometheus.js'
import { createRequestFlow } from './request-flow.js'
import type { ServerOptions } from './server-options.js'
import type { ServerStats } from './server-stats.js'
import { defaultWebRoot, loadStaticFiles, type StaticFile } from './static-files.js'
import { createSymbolIndex } from './subscription.js'
import type { Transport, TransportContext } from './transport.js'
import { createTransports, type GroupState } from './transports/list.js'

export interface AppDeps {
  readonly options: ServerOptions
  /** The universe (/v1/symbols, initial quotes); the same in every copy, the market being deterministic. */
  readonly market: Market
  readonly source: LogSource
  /**
   * Set for one of several apps on a port (a cluster's worker): the answers about the whole
   * server, and a bind with SO_REUSEPORT (the cluster checked the port). Otherwise the answers
   * are this app's own and the bind is exclusive.
   */
  readonly whole?: WholeServer
}

/** One uWS app in this thread, listening. */
export interface ServerApp {
  readonly port: number
  stats(): ServerStats
  /** This app's own /healthz document (a cluster merges its workers'). */
  health(): HealthDocument
  /** This app's metrics as prom-client JSON, to be added up with other apps'. */
  metricsJson(): Promise<MetricsJson>
  metrics(): Promise<string>
  /** Cuts up to `count` connections of every transport, as a network fault would. */
  dropStreams(count: number): number
  dropClient(clientId: string): number
  /** Stops accepting, drains every transport, closes every socket. */
  close(): Promise<void>
}

/** The housekeeping timer: heartbeats, slow-consumer deadlines and poll sweeps ride on it. */
const TICK_MS = 100

/**
 * The composition root of one uWS app: the request flow, the transports (transports/list.ts),
 * the info routes and the fan-out that feeds them, listening on `host:port`. It loops over the
 * transports everywhere and names none. Resolves once the port is bound.
 */
export async function startApp(deps: AppDeps): Promise<ServerApp> {
  const { options, source } = deps
  const uWS = nativeUws()
  const symbolIndex = createSymbolIndex(source.symbols)
  let draining = false
  const flow = createRequestFlow({
    feed: source,
    symbolIndex,
    maxSymbolsPerSubscription: options.maxSymbolsPerSubscription,
    // Null without a configured key: every endpoint stays open, and nothing awaits.
    auth: await createAuthenticator(options, symbolIndex),
    cors: createCorsPolicy(options.corsOrigins),
    draining: () => draining,
  })
  const app = uWS.App()
  const clients = createClientRegistry()
  // The list is built before the fan-out, which asks every transport for its part of a group.
  let transports: readonly Transport[] = []
  const fanout = createFanout<GroupState>(source.symbols.length, (_subscription, id) => {
    const state: Record<string, unknown> = {}
    for (const transport of transports) state[transport.name] = transport.createSlot(id)
    return state as GroupState
  })
  const ctx: TransportContext = {
    app,
    feed: source,
    fanout: fanout as unknown as TransportContext['fanout'],
    clients,
    limiter: createConnectionLimiter(options),
    flow,
    options,
  }
  transports = createTransports(ctx)
  const startedAt = Date.now()
  let lastFanoutUs = 0
  let maxFanoutUs = 0
  const stats = (): ServerStats => {
    const own: Record<string, unknown> = {
      uptimeMs: Date.now() - startedAt,
      feed: source.stats(),
      lastFanoutUs,
      maxFanoutUs,
      auth: { unauthorized: flow.unauthorized, forbidden: flow.forbidden },
    }
    for (const transport of transports) own[transport.name] = transport.stats()
    return own as ServerStats
  }
  const metrics = createServerMetrics(stats)
  const health = (): HealthDocument =>
    healthOf(stats(), {
      status: draining ? 'draining' : 'ok',
      preset: options.preset,
      seed: options.seed,
      symbols: source.symbols.length,
      source: source.describe(),
      frameMs: options.frameMs,
      groups: fanout.size,
    })

  for (const transport of transports) transport.mount(app)
  const webRoot = options.webRoot ?? defaultWebRoot()
  mountInfoRoutes(app, {
    feed: source,
    market: deps.market,
    flow,
    clients,
    whole: deps.whole ?? {
      dropClient: async (clientId) => clients.cut(clientId),
      health: async () => health(),
      metrics: () => metrics.render(),
    },
    staticFiles: webRoot === null ? new Map<string, StaticFile>() : loadStaticFiles(webRoot),
    metricsContentType: metrics.contentType,
    transportRoutes: transports.flatMap((transport) => transport.routes),
  })

  // One pass per frame: events are filtered once per subscription group, then each transport
  // writes that group's bytes, built once, to its members.
  let frameLastSeq = 0
  const deliverGroup = (group: Parameters<Transport['deliver']>[0]): void => {
    for (let i = 0; i < transports.length; i++) transports[i]!.deliver(group, frameLastSeq)
  }
  const unsubscribeFrames = source.onFrame((frame) => {
    const startedUs = nowUs()
    frameLastSeq = frame.events[frame.events.length - 1]!.seq
    fanout.publish(frame, deliverGroup as (group: unknown) => void)
    lastFanoutUs = nowUs() - startedUs
    if (lastFanoutUs > maxFanoutUs) maxFanoutUs = lastFanoutUs
    metrics.observeFanoutUs(lastFanoutUs)
  })
  const dropStreams = (count: number): number =>
    transports.reduce((sum, transport) => sum + transport.drop(count), 0)
  // Past a gap the source's log started over: every open connection resumes by id (reset if needed).
  const unsubscribeReset = source.onReset?.(() => dropStreams(Number.POSITIVE_INFINITY))
  // The server's one timer: every transport's heartbeats, deadlines and sweeps.
  const timer = setInterval(() => {
    const nowMs = Date.now()
    for (const transport of transports) transport.tick(nowMs)
  }, TICK_MS)

  let listenSocket: Awaited<ReturnType<typeof listenApp>>
  try {
    listenSocket = await listenApp(app, options.host, options.port, deps.whole !== undefined)
  } catch (error) {
    clearInterval(timer)
    unsubscribeFrames()
    unsubscribeReset?.()
    throw error
  }
  let closing: Promise<void> | undefined
  return {
    port: uWS.us_socket_local_port(listenSocket),
    stats,
    health,
    metricsJson: () => metrics.json(),
    metrics: () => metrics.render(),
    dropStreams,
    dropClient: (clientId) => clients.cut(clientId),
    close() {
      closing ??= new Promise<void>((resolve) => {
        draining = true
        uWS.us_listen_socket_close(listenSocket)
        unsubscribeFrames()
        unsubscribeReset?.()
        clearInterval(timer)
        for (const transport of transports) transport.drain()
        // Let the ends flush before every remaining socket (idle keep-alives too) is closed.
        setImmediate(() => {
          ;(app as unknown as { close(): void }).close()
          resolve()
        })
      })
      return closing
    },
  }
}
