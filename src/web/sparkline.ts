import uPlot from 'uplot'
import type { PriceHistory } from './price-history.js'

const WIDTH = 132
const HEIGHT = 30
const UP = '#34d399'
const DOWN = '#f87171'

export interface Sparkline {
  /** Redraws if the history moved since the last draw; `up` picks the colour. */
  update(up: boolean): void
  destroy(): void
}

/**
 * A row's trend: the mid price over the recent history, as a bare uPlot line (no axes, legend or
 * cursor), green when the symbol is up on the session and red when down.
 */
export function createSparkline(container: HTMLElement, history: PriceHistory): Sparkline {
  let drawnVersion = -1
  let up = true
  const stroke = () => (up ? UP : DOWN)
  const fill = () => (up ? 'rgba(52, 211, 153, 0.10)' : 'rgba(248, 113, 113, 0.10)')
  const chart = new uPlot(
    {
      width: WIDTH,
      height: HEIGHT,
      padding: [3, 0, 3, 0],
      legend: { show: false },
      cursor: { show: false },
      select: { show: false, left: 0, top: 0, width: 0, height: 0 },
      scales: { x: { time: false } },
      axes: [{ show: false }, { show: false }],
      series: [{}, { stroke, fill, width: 1.5, points: { show: false } }],
    },
    [[], []],
    container,
  )
  return {
    update(nextUp) {
      if (history.version === drawnVersion && nextUp === up) return
      drawnVersion = history.version
      up = nextUp
      const series = history.series()
      chart.setData([series.time, series.mid])
    },
    destroy: () => chart.destroy(),
  }
}
