import type { PollHubStats } from './poll-hub.js'
import type { SseHubStats } from './sse-hub.js'
import type { WsHubStats } from './ws-hub.js'

/** What `GET /healthz` answers: liveness, the feed's head, pacing lag and connection counts. */
export interface HealthDocument {
  readonly status: 'ok' | 'draining'
  readonly uptimeMs: number
  readonly preset: string
  readonly seed: number
  readonly symbols: number
  readonly headSeq: number
  readonly source: Readonly<Record<string, unknown>>
  readonly connections: { readonly sse: number; readonly poll: number; readonly ws: number }
  readonly pacing: {
    readonly frameMs: number
    readonly lastLagMs: number
    readonly maxLagMs: number
    readonly meanLagMs: number
  }
  readonly fanout: { readonly lastUs: number; readonly maxUs: number; readonly groups: number }
  readonly sse: SseHubStats
  readonly poll: PollHubStats
  readonly ws: WsHubStats
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
    sse: sumFields(documents.map((document) => document.sse)),
    poll: sumFields(documents.map((document) => document.poll)),
    ws: sumFields(documents.map((document) => document.ws)),
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
