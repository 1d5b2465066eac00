import { formatTapeTime } from '../market/tapes/tape-info.js'
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
  /** The model's preset and seed; absent when a tape drives the market (then `tape` is set). */
  readonly preset?: string
  readonly seed?: number
  readonly tape?: TapeHealth
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

/**
 * What a tape replay is, in place of the model's preset and seed, which mean nothing then. The
 * replay's progress (events played, bytes read, ended) stays under `source`.
 */
export interface TapeHealth {
  /** The file's name, and its path as given. */
  readonly file: string
  readonly path: string
  readonly format: string
  /** Tape time per wall-clock time; absent when the server was not told it. */
  readonly speed?: number
  /** Tape time the replay starts at, `HH:MM:SS.ffffff` New York, and as ns since midnight. */
  readonly start: string
  readonly startNs: number
  /** The universe's symbols, busiest first, at most the first 32 (`symbols` counts them all). */
  readonly symbols: readonly string[]
}

/** The tape part of /healthz, when the source is a tape replay (tape-market.ts `describe()`). */
export function tapeHealthOf(source: Readonly<Record<string, unknown>>): TapeHealth | undefined {
  if (source['kind'] !== 'tape') return undefined
  const path = String(source['path'])
  const startNs = Number(source['startNs'])
  const speed = source['speed']
  return {
    file: path.split(/[\\/]/).pop() ?? path,
    path,
    format: String(source['format']),
    ...(typeof speed === 'number' ? { speed } : {}),
    start: formatTapeTime(startNs),
    startNs,
    symbols: Array.isArray(source['symbols']) ? source['symbols'].map(String) : [],
  }
}

/** The market's part of /healthz: the tape when one drives it, else the model's preset and seed. */
function marketPart(
  source: Readonly<Record<string, unknown>>,
  model: { readonly preset?: string | undefined; readonly seed?: number | undefined },
): Pick<HealthFigures, 'preset' | 'seed' | 'tape'> {
  const tape = tapeHealthOf(source)
  if (tape !== undefined) return { tape }
  return {
    ...(model.preset === undefined ? {} : { preset: model.preset }),
    ...(model.seed === undefined ? {} : { seed: model.seed }),
  }
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
    // The workers' sources are links to this thread's; only the whole's says it is a tape.
    ...marketPart(whole.source, first),
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
  figures: Pick<HealthDocument, 'status' | 'symbols' | 'source'> & {
    readonly preset: string
    readonly seed: number
    readonly frameMs: number
    readonly groups: number
  },
): HealthDocument {
  const transports = Object.fromEntries(TRANSPORT_NAMES.map((name) => [name, stats[name]]))
  return {
    status: figures.status,
    uptimeMs: stats.uptimeMs,
    ...marketPart(figures.source, figures),
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
