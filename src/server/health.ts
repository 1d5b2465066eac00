import type { ServerStats } from './server-stats.js'
import {
  TRANSPORT_NAMES,
  type TransportName,
  type TransportStatsByName,
} from './transports/list.js'

/**
 * What `GET /healthz` answers: liveness, the feed's head, pacing lag, connection counts, and each
 * transport's stats under its name (`sse`, `longpoll`, `ws`).
 */
export type HealthDocument = HealthFigures & TransportStatsByName

interface HealthFigures {
  readonly status: 'ok' | 'draining'
  readonly uptimeMs: number
  readonly preset: string
  readonly seed: number
  readonly symbols: number
  readonly headSeq: number
  readonly source: Readonly<Record<string, unknown>>
  /** Open connections per transport (long polling: parked requests). */
  readonly connections: Readonly<Record<TransportName, number>>
  readonly pacing: {
    readonly frameMs: number
    readonly lastLagMs: number
    readonly maxLagMs: number
    readonly meanLagMs: number
  }
  readonly fanout: { readonly lastUs: number; readonly maxUs: number; readonly groups: number }
  /** A cluster only: how many worker threads serve the port, and each one's own figures. */
  readonly workers?: number
  readonly perWorker?: readonly WorkerHealth[]
}

/** One worker thread's part of a cluster's /healthz. */
export interface WorkerHealth {
  readonly worker: number
  readonly status: HealthDocument['status']
  readonly headSeq: number
  readonly connections: HealthDocument['connections']
  readonly pacing: HealthDocument['pacing']
  readonly fanout: HealthDocument['fanout']
}

/**
 * The /healthz of several servers sharing one port and one feed (a cluster's workers) as one
 * server: connections and every hub counter summed, draining if any worker drains, pacing and
 * fan-out at their worst, with each worker's own figures under `perWorker`. `whole` carries what
 * only the cluster knows (its uptime, the generator's head, lag and source).
 */
export function mergeHealth(
  documents: readonly HealthDocument[],
  whole: Pick<HealthDocument, 'uptimeMs' | 'headSeq' | 'source' | 'pacing'>,
): HealthDocument {
  const first = documents[0]
  if (first === undefined) throw new Error('mergeHealth needs at least one document')
  const max = (read: (document: HealthDocument) => number) =>
    Math.max(...documents.map((document) => read(document)))
  const transports = Object.fromEntries(
    TRANSPORT_NAMES.map((name) => [name, sumFields(documents.map((document) => document[name]))]),
  ) as unknown as TransportStatsByName
  return {
    status: documents.every((document) => document.status === 'ok') ? 'ok' : 'draining',
    uptimeMs: whole.uptimeMs,
    preset: first.preset,
    seed: first.seed,
    symbols: first.symbols,
    headSeq: whole.headSeq,
    source: whole.source,
    workers: documents.length,
    connections: sumFields(documents.map((document) => document.connections)),
    pacing: {
      frameMs: whole.pacing.frameMs,
      lastLagMs: Math.max(
        whole.pacing.lastLagMs,
        max((d) => d.pacing.lastLagMs),
      ),
      maxLagMs: Math.max(
        whole.pacing.maxLagMs,
        max((d) => d.pacing.maxLagMs),
      ),
      meanLagMs: Math.max(
        whole.pacing.meanLagMs,
        max((d) => d.pacing.meanLagMs),
      ),
    },
    fanout: {
      lastUs: max((d) => d.fanout.lastUs),
      maxUs: max((d) => d.fanout.maxUs),
      groups: max((d) => d.fanout.groups),
    },
    ...transports,
    perWorker: documents.map((document, i) => ({
      worker: i + 1,
      status: document.status,
      headSeq: document.headSeq,
      connections: document.connections,
      pacing: document.pacing,
      fanout: document.fanout,
    })),
  }
}

/** Adds up records of counters field by field (every hub's stats are plain counts). */
export function sumFields<T extends object>(records: readonly T[]): T {
  const sum: Record<string, number> = {}
  for (const record of records) {
    for (const [key, value] of Object.entries(record)) {
      if (typeof value === 'number') sum[key] = (sum[key] ?? 0) + value
    }
  }
  return sum as T
}

/** A lone server's /healthz: its own stats, with the figures only the server knows. */
export function healthOf(
  stats: ServerStats,
  figures: Pick<HealthDocument, 'status' | 'preset' | 'seed' | 'symbols' | 'source'> & {
    readonly frameMs: number
    readonly groups: number
  },
): HealthDocument {
  const transports = Object.fromEntries(TRANSPORT_NAMES.map((name) => [name, stats[name]]))
  return {
    status: figures.status,
    uptimeMs: stats.uptimeMs,
    preset: figures.preset,
    seed: figures.seed,
    symbols: figures.symbols,
    headSeq: stats.feed.headSeq,
    source: figures.source,
    connections: Object.fromEntries(
      TRANSPORT_NAMES.map((name) => [name, stats[name].connections]),
    ) as Record<TransportName, number>,
    pacing: {
      frameMs: figures.frameMs,
      lastLagMs: stats.feed.lastLagUs / 1000,
      maxLagMs: stats.feed.maxLagUs / 1000,
      meanLagMs: stats.feed.meanLagUs / 1000,
    },
    fanout: { lastUs: stats.lastFanoutUs, maxUs: stats.maxFanoutUs, groups: figures.groups },
    ...(transports as unknown as TransportStatsByName),
  }
}
