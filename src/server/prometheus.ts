import {
  type Aggregator,
  AggregatorRegistry,
  Counter,
  Gauge,
  Histogram,
  Registry,
} from 'prom-client'
import type { ServerStats } from './server-stats.js'
import type { TransportStats } from './transport.js'
import { TRANSPORT_NAMES } from './transports/list.js'

/** One registry's metrics as prom-client JSON (`getMetricsAsJSON`): plain data, posted between threads. */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>

export interface ServerMetrics {
  /** `text/plain; version=0.0.4; charset=utf-8`, the Prometheus text exposition format. */
  readonly contentType: string
  /** One frame's fan-out time; called once per frame by the composition root. */
  observeFanoutUs(us: number): void
  /** The exposition text of every metric, as of now. */
  render(): Promise<string>
  /** The same, as JSON, to be added up with other servers' (`aggregateMetrics`). */
  json(): Promise<MetricsJson>
}

/**
 * Fan-out time buckets, in seconds: 10 µs to 50 ms. A frame is a few ms of market time; fanning
 * it out should take a small fraction of that, so the interesting range is tens of µs to a frame.
 */
const FANOUT_BUCKETS_S = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
]

/**
 * The server's Prometheus metrics, on a registry of its own (several servers in one process, as
 * in tests, must not share the global one). Everything but the fan-out histogram is read at scrape
 * time from one `stats()` snapshot through `collect` callbacks: the hubs already count, and the hot
 * path gets no second set of counters. Counters mirror the hubs' monotonic totals.
 */
export function createServerMetrics(stats: () => ServerStats): ServerMetrics {
  const registry = new Registry()
  const registers = [registry]
  /** Taken once per scrape, before the collect callbacks run, so they agree with each other. */
  let current: ServerStats | null = null

  const gauge = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: (s: ServerStats) => readonly (readonly [Record<L, string>, number])[],
    aggregator: Aggregator = 'sum',
  ): void => {
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers,
      aggregator,
      collect() {
        this.reset()
        for (const [labels, value] of read(current!)) this.set(labels, value)
      },
    })
  }
  const counter = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: (s: ServerStats) => readonly (readonly [Record<L, string>, number])[],
    aggregator: Aggregator = 'sum',
  ): void => {
    new Counter<L>({
      name,
      help,
      labelNames,
      registers,
      aggregator,
      collect() {
        this.reset()
        for (const [labels, value] of read(current!)) this.inc(labels, value)
      },
    })
  }
  /**
   * One row per transport that counts `field` (the common fields of TransportStats), labelled
   * with the transport's name: the list is the transports', never written out here.
   */
  const perTransport =
    (field: keyof TransportStats) =>
    (s: ServerStats): (readonly [{ transport: string }, number])[] =>
      TRANSPORT_NAMES.flatMap((name) => {
        const value = (s[name] as TransportStats)[field]
        return value === undefined ? [] : [[{ transport: name }, value] as const]
      })

  gauge(
    'tickstorm_connections',
    'Open connections (long polling: parked requests)',
    ['transport'],
    perTransport('connections'),
  )
  gauge(
    'tickstorm_connections_behind',
    'Connections catching up from the replay ring instead of receiving live frames',
    ['transport'],
    perTransport('behind'),
  )
  counter(
    'tickstorm_deliveries_total',
    'Events delivered to subscribers',
    ['transport'],
    perTransport('deliveries'),
  )
  counter(
    'tickstorm_bytes_written_total',
    'Payload bytes written to subscribers',
    ['transport'],
    perTransport('bytesWritten'),
  )
  const hits = perTransport('replayHits')
  const misses = perTransport('replayMisses')
  counter(
    'tickstorm_replays_total',
    'Resumes by id: served from the ring (hit), or answered with a reset snapshot (miss)',
    ['transport', 'result'],
    (s) => {
      const miss = misses(s)
      return hits(s).flatMap(([labels, value], i) => [
        [{ ...labels, result: 'hit' }, value] as const,
        [{ ...labels, result: 'miss' }, miss[i]![1]] as const,
      ])
    },
  )
  counter(
    'tickstorm_slow_consumer_disconnects_total',
    'Streams closed for staying behind past the slow-consumer deadline',
    ['transport'],
    perTransport('slowDisconnects'),
  )
  counter(
    'tickstorm_sheds_total',
    'Requests shed: streams told to retry later while draining, polls refused when full',
    ['transport'],
    perTransport('shed'),
  )
  counter(
    'tickstorm_auth_rejections_total',
    'Requests refused: no or invalid token (unauthorized), symbols or origin not allowed (forbidden)',
    ['reason'],
    (s) => [
      [{ reason: 'unauthorized' }, s.auth.unauthorized],
      [{ reason: 'forbidden' }, s.auth.forbidden],
    ],
  )
  // Servers that share one feed (a cluster's workers) each count the same events: added up
  // across them these would be multiplied, so the feed's metrics aggregate by `max`.
  counter(
    'tickstorm_feed_events_total',
    'Events the feed has sequenced',
    [],
    (s) => [[{}, s.feed.events]],
    'max',
  )
  gauge(
    'tickstorm_feed_head_sequence',
    'The last sequence (event id) issued',
    [],
    (s) => [[{}, s.feed.headSeq]],
    'max',
  )
  gauge(
    'tickstorm_pacing_lag_seconds',
    'How late the pacing loop ran its frames: the last frame, the worst so far, the mean',
    ['stat'],
    (s) => [
      [{ stat: 'last' }, s.feed.lastLagUs / 1e6],
      [{ stat: 'max' }, s.feed.maxLagUs / 1e6],
      [{ stat: 'mean' }, s.feed.meanLagUs / 1e6],
    ],
    'max',
  )
  const fanout = new Histogram({
    name: 'tickstorm_fanout_duration_seconds',
    help: 'Time to fan one frame out over every transport',
    buckets: FANOUT_BUCKETS_S,
    registers,
  })

  return {
    contentType: registry.contentType,
    observeFanoutUs: (us) => fanout.observe(us / 1e6),
    render() {
      current = stats()
      return registry.metrics()
    },
    json() {
      current = stats()
      return registry.getMetricsAsJSON()
    },
  }
}

/**
 * The exposition of several servers' metrics added up (prom-client's `AggregatorRegistry`): counters,
 * gauges and histogram buckets summed label set by label set, the feed's metrics by their `max`.
 */
export function aggregateMetrics(perServer: readonly MetricsJson[]): Promise<string> {
  return AggregatorRegistry.aggregate([...perServer]).metrics()
}
