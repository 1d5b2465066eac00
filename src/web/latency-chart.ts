import uPlot from 'uplot'
import { AXIS, TIME_AXIS } from './chart-style.js'
import type { StreamStats } from './stream-stats.js'
import type { TransportName } from './transport.js'

/** Two samples a second, five minutes kept. */
export const LATENCY_SAMPLE_MS = 500
const SAMPLES = 600
const TRANSPORTS: readonly TransportName[] = ['sse', 'longpoll', 'ws']
const TRANSPORT_COLORS: Readonly<Record<TransportName, string>> = {
  sse: '#60a5fa',
  longpoll: '#fbbf24',
  ws: '#c084fc',
}
/** The log scale needs positive values; anything below 10 µs is drawn at 10 µs. */
const FLOOR_MS = 0.01

const formatDecade = (ms: number | null): string =>
  ms === null ? '' : ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`

const isPowerOfTen = (value: number): boolean => {
  const exponent = Math.log10(value)
  return Math.abs(exponent - Math.round(exponent)) < 1e-9
}

export interface LatencyChart {
  /** Adds the last half second's p50 and p99 under the transport that carried them. */
  sample(stats: StreamStats, transport: TransportName, nowMs: number): void
}

/**
 * Latency over time, coloured by transport, so a switch from SSE to long polling or WebSocket
 * shows on the same axes: p50 solid, p99 dashed, on a log scale (a long poll's p99 or a stall
 * can sit two orders of magnitude above the usual few milliseconds). Like the latency tile, it
 * leaves out the events a reconnect replays (stream-stats.ts says why).
 */
export function createLatencyChart(container: HTMLElement): LatencyChart {
  const time: number[] = []
  const columns = TRANSPORTS.flatMap(() => [[] as (number | null)[], [] as (number | null)[]])
  // Grid, ticks and labels at powers of ten only: 1 ms, 10 ms, 100 ms, 1 s.
  const decades: uPlot.Axis.Filter = (_chart, splits) =>
    splits.map((split) => (isPowerOfTen(split) ? split : null))
  const chart = new uPlot(
    {
      width: Math.max(container.clientWidth, 200),
      height: 190,
      legend: { show: false },
      cursor: { points: { size: 5 }, drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { distr: 3 } },
      axes: [
        TIME_AXIS,
        {
          ...AXIS,
          size: 64,
          filter: decades,
          grid: { ...AXIS.grid, filter: decades },
          ticks: { ...AXIS.ticks, filter: decades },
          values: (_chart, ticks) => ticks.map(formatDecade),
        },
      ],
      series: [
        {},
        ...TRANSPORTS.flatMap((transport): uPlot.Series[] => [
          {
            label: `${transport} p50`,
            stroke: TRANSPORT_COLORS[transport],
            width: 2,
            points: { show: false },
          },
          {
            label: `${transport} p99`,
            stroke: TRANSPORT_COLORS[transport],
            width: 1,
            dash: [4, 4],
            points: { show: false },
          },
        ]),
      ],
    },
    [time, ...columns],
    container,
  )
  new ResizeObserver(() => {
    const width = Math.max(container.clientWidth, 200)
    if (width !== chart.width) chart.setSize({ width, height: 190 })
  }).observe(container)

  let lastTransport: TransportName | null = null
  let switchedAtMs = 0

  return {
    sample(stats, transport, nowMs) {
      // A point covers only events its transport carried: none from before a switch.
      if (transport !== lastTransport) {
        lastTransport = transport
        switchedAtMs = nowMs
        return
      }
      const latency = stats.latency(nowMs, Math.min(LATENCY_SAMPLE_MS, nowMs - switchedAtMs))
      if (latency.samples === 0) return
      const active = TRANSPORTS.indexOf(transport)
      // How many points each transport has on the chart (the end-to-end test reads them).
      container.dataset[transport] = String(Number(container.dataset[transport] ?? 0) + 1)
      time.push(nowMs / 1000)
      columns.forEach((column, index) => {
        const mine = Math.floor(index / 2) === active
        const us = index % 2 === 0 ? latency.p50Us : latency.p99Us
        column.push(mine ? Math.max(us / 1000, FLOOR_MS) : null)
      })
      if (time.length > SAMPLES) {
        time.shift()
        for (const column of columns) column.shift()
      }
      chart.setData([time, ...columns])
    },
  }
}
