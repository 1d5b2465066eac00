import uPlot from 'uplot'
import { AXIS, TIME_AXIS } from './chart-style.js'
import { tickDecimals } from './format.js'
import type { PriceHistory } from './price-history.js'

const COLORS = {
  bid: '#34d399',
  ask: '#f87171',
  last: '#e2e8f0',
  spread: 'rgba(96, 165, 250, 0.14)',
}

export interface PriceChart {
  /** Shows this history, of an instrument with this tick size, from now on (a new selection). */
  show(history: PriceHistory, tickSize: number): void
  /** Redraws if the history moved since the last draw. */
  update(): void
}

/**
 * The large chart of the selected symbol, drawn by uPlot: bid and ask as step lines with the
 * spread filled between them, and the last trade price over them, on the events' scheduled time.
 */
export function createPriceChart(container: HTMLElement): PriceChart {
  let history: PriceHistory | null = null
  let drawnVersion = -1
  let decimals = 2
  const stepped = uPlot.paths.stepped!({ align: 1 })
  const options: uPlot.Options = {
    width: Math.max(container.clientWidth, 200),
    height: 300,
    legend: { show: false },
    cursor: { points: { size: 6 }, drag: { x: false, y: false } },
    scales: { x: { time: true } },
    axes: [
      TIME_AXIS,
      {
        ...AXIS,
        size: 64,
        // One number of decimals per axis: the tick's, or the step's when finer (a half-penny
        // step between trade prints), never 41.83 beside 41.835.
        values: (_chart, ticks, _axis, _space, step) => {
          const places = Math.max(decimals, tickDecimals(step))
          return ticks.map((tick) => tick.toFixed(places))
        },
      },
    ],
    series: [
      {},
      { label: 'bid', stroke: COLORS.bid, width: 1.25, paths: stepped, points: { show: false } },
      { label: 'ask', stroke: COLORS.ask, width: 1.25, paths: stepped, points: { show: false } },
      { label: 'last', stroke: COLORS.last, width: 2, paths: stepped, points: { show: false } },
    ],
    bands: [{ series: [2, 1], fill: COLORS.spread }],
  }
  const chart = new uPlot(options, [[], [], [], []], container)
  new ResizeObserver(() => {
    const width = Math.max(container.clientWidth, 200)
    if (width !== chart.width) chart.setSize({ width, height: 300 })
  }).observe(container)

  return {
    show(next, tickSize) {
      history = next
      decimals = tickDecimals(tickSize)
      drawnVersion = -1
    },
    update() {
      if (history === null || history.version === drawnVersion) return
      drawnVersion = history.version
      const series = history.series()
      chart.setData([series.time, series.bid, series.ask, series.last])
    },
  }
}
