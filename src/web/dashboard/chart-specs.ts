/**
 * What each chart of the dashboard draws, as data: its series, which transport's frames feed
 * each one and what it reads from them. Kept apart from uPlot so the choice of figures reads in
 * one place (charts.ts draws them).
 */

import type { DashboardFrame, TransportName } from './frame.js'

export const TRANSPORT_COLORS: Readonly<Record<TransportName, string>> = {
  sse: '#60a5fa',
  longpoll: '#fbbf24',
  ws: '#c084fc',
  eventsource: '#34d399',
  http: '#f472b6',
}

export const TRANSPORT_LABELS: Readonly<Record<TransportName, string>> = {
  sse: 'SSE',
  longpoll: 'Long polling',
  ws: 'WebSocket',
  eventsource: 'EventSource',
  http: 'HTTP',
}

export type Dash = 'solid' | 'dashed' | 'dotted'

export interface SeriesSpec {
  readonly label: string
  /** Only this transport's frames feed the series; null: every frame (the harness's health). */
  readonly transport: TransportName | null
  readonly pick: (frame: DashboardFrame) => number | null
  readonly color: string
  readonly width: number
  readonly dash: Dash
  /** The y scale it is drawn on (charts with two units have two). */
  readonly scale: 'y' | 'y2'
}

export interface ChartSpec {
  readonly id: string
  readonly title: string
  /** What the left (and right) axis counts. */
  readonly unit: string
  readonly unit2?: string
  /** Latency spans orders of magnitude: a stall next to a 2 ms median. */
  readonly log: boolean
  /** Counts of whole things (subscribers, errors): no axis step below 1. */
  readonly integer: boolean
  readonly series: readonly SeriesSpec[]
}

/** The log scale needs positive values: below 10 µs is drawn at 10 µs. */
const FLOOR_MS = 0.01

const perTransport = (
  transports: readonly TransportName[],
  parts: readonly {
    readonly name: string
    readonly pick: (frame: DashboardFrame) => number | null
    readonly width: number
    readonly dash: Dash
  }[],
): SeriesSpec[] =>
  transports.flatMap((transport) =>
    parts.map((part) => ({
      label: parts.length === 1 ? transport : `${transport} ${part.name}`,
      transport,
      pick: part.pick,
      color: TRANSPORT_COLORS[transport],
      width: part.width,
      dash: part.dash,
      scale: 'y' as const,
    })),
  )

const latency = (key: 'p50' | 'p90' | 'p99' | 'max') => (frame: DashboardFrame) =>
  frame.last === null ? null : Math.max(frame.last[key], FLOOR_MS)

export function dashboardCharts(transports: readonly TransportName[]): ChartSpec[] {
  return [
    {
      id: 'connected',
      title: 'Connected subscribers',
      unit: 'subscribers',
      log: false,
      integer: true,
      series: perTransport(transports, [
        { name: 'connected', pick: (frame) => frame.connected, width: 2, dash: 'solid' },
      ]),
    },
    {
      id: 'deliveries',
      title: 'Deliveries per second',
      unit: 'events/s',
      log: false,
      integer: false,
      series: perTransport(transports, [
        { name: 'deliveries/s', pick: (frame) => frame.deliveriesPerSec, width: 2, dash: 'solid' },
      ]),
    },
    {
      id: 'latency',
      title: 'Latency, each second: p50 · p90 · p99 · max',
      unit: 'ms',
      log: true,
      integer: false,
      series: perTransport(transports, [
        { name: 'p50', pick: latency('p50'), width: 2, dash: 'solid' },
        { name: 'p90', pick: latency('p90'), width: 1, dash: 'solid' },
        { name: 'p99', pick: latency('p99'), width: 1.5, dash: 'dashed' },
        { name: 'max', pick: latency('max'), width: 1, dash: 'dotted' },
      ]),
    },
    {
      id: 'faults',
      title: 'Errors and reconnects, each second',
      unit: 'count',
      log: false,
      integer: true,
      series: perTransport(transports, [
        { name: 'errors', pick: (frame) => frame.errors, width: 2, dash: 'solid' },
        { name: 'reconnects', pick: (frame) => frame.reconnects, width: 1.5, dash: 'dashed' },
      ]),
    },
    {
      id: 'harness',
      title: 'Harness health: CPU · event-loop delay p99',
      unit: 'CPU %',
      unit2: 'loop ms',
      log: false,
      integer: false,
      series: [
        {
          label: 'CPU %',
          transport: null,
          pick: (frame) => frame.harness?.cpuPercent ?? null,
          color: '#94a3b8',
          width: 2,
          dash: 'solid',
          scale: 'y',
        },
        {
          label: 'event loop p99 ms',
          transport: null,
          pick: (frame) => frame.harness?.eventLoopP99Ms ?? null,
          color: '#f87171',
          width: 1.5,
          dash: 'dashed',
          scale: 'y2',
        },
      ],
    },
  ]
}

/**
 * The chart's columns from the frames, in uPlot's aligned form: times (seconds) and one column
 * per series, null where a frame is another transport's (the line breaks there).
 */
export function columnsOf(
  spec: ChartSpec,
  frames: readonly DashboardFrame[],
): [number[], ...(number | null)[][]] {
  const time = frames.map((frame) => frame.t / 1000)
  const columns = spec.series.map((series) =>
    frames.map((frame) =>
      series.transport === null || frame.transport === series.transport ? series.pick(frame) : null,
    ),
  )
  return [time, ...columns]
}
