import uPlot from 'uplot'
import { AXIS, TIME_AXIS } from '../chart-style.js'
import { type ChartSpec, columnsOf, type Dash } from './chart-specs.js'
import type { DashboardFrame } from './frame.js'

const HEIGHT = 190
/** Axis steps for counts: 1, 2, 5, 10, 20, 50 … */
const WHOLE_STEPS = Array.from({ length: 8 }, (_, decade) =>
  [1, 2, 5].map((step) => step * 10 ** decade),
).flat()
const DASHES: Readonly<Record<Dash, number[] | undefined>> = {
  solid: undefined,
  dashed: [5, 4],
  dotted: [1, 3],
}

export interface DashboardCharts {
  /** Redraws every chart from the frames kept (at most once a frame, see app.ts). */
  render(frames: readonly DashboardFrame[]): void
  destroy(): void
}

const formatAxis = (value: number): string =>
  value >= 1_000_000
    ? `${value / 1_000_000}M`
    : value >= 1000
      ? `${value / 1000}k`
      : String(Number(value.toPrecision(3)))

const isPowerOfTen = (value: number): boolean => {
  const exponent = Math.log10(value)
  return Math.abs(exponent - Math.round(exponent)) < 1e-9
}

/**
 * One uPlot chart per spec, in `root`, sized to its cell and resized with it. Each chart's cell
 * carries `data-points` (frames with a value on it), which the end-to-end test reads.
 */
export function mountCharts(root: HTMLElement, specs: readonly ChartSpec[]): DashboardCharts {
  root.replaceChildren()
  const charts = specs.map((spec) => {
    const cell = document.createElement('section')
    cell.className = 'chart'
    cell.dataset['chart'] = spec.id
    cell.dataset['points'] = '0'
    const title = document.createElement('h2')
    title.textContent = spec.title
    const key = document.createElement('div')
    key.className = 'key'
    for (const series of spec.series) {
      const item = document.createElement('span')
      item.className = `key-item ${series.dash}`
      item.style.setProperty('--color', series.color)
      item.textContent = series.label
      key.append(item)
    }
    const plot = document.createElement('div')
    plot.className = 'plot'
    cell.append(title, key, plot)
    root.append(cell)
    const decades: uPlot.Axis.Filter = (_chart, splits) =>
      splits.map((split) => (isPowerOfTen(split) ? split : null))
    const yAxis: uPlot.Axis = spec.log
      ? {
          ...AXIS,
          size: 60,
          filter: decades,
          grid: { ...AXIS.grid, filter: decades },
          ticks: { ...AXIS.ticks, filter: decades },
          // The filter leaves null where a split is not a power of ten: no label there.
          values: (_chart, ticks) =>
            ticks.map((ms: number | null) =>
              ms === null ? '' : ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`,
            ),
        }
      : {
          ...AXIS,
          size: 60,
          ...(spec.integer ? { incrs: WHOLE_STEPS } : {}),
          values: (_chart, ticks) => ticks.map(formatAxis),
        }
    const axes: uPlot.Axis[] = [TIME_AXIS, yAxis]
    if (spec.unit2 !== undefined) {
      axes.push({
        ...AXIS,
        scale: 'y2',
        side: 1,
        size: 56,
        grid: { show: false },
        values: (_chart, ticks) => ticks.map((ms) => `${formatAxis(ms)} ms`),
      })
    }
    const chart = new uPlot(
      {
        width: Math.max(plot.clientWidth, 240),
        height: HEIGHT,
        legend: { show: false },
        cursor: { points: { size: 5 }, drag: { x: false, y: false } },
        scales: {
          x: { time: true },
          y: spec.log ? { distr: 3 } : { range: (_chart, _min, max) => [0, niceMax(max)] },
          ...(spec.unit2 === undefined
            ? {}
            : { y2: { range: (_chart: uPlot, _min: number, max: number) => [0, niceMax(max)] } }),
        },
        axes,
        series: [
          {},
          ...spec.series.map(
            (series): uPlot.Series => ({
              label: series.label,
              scale: series.scale,
              stroke: series.color,
              width: series.width,
              ...(DASHES[series.dash] === undefined ? {} : { dash: DASHES[series.dash]! }),
              points: { show: false },
              spanGaps: false,
            }),
          ),
        ],
      },
      [[], ...spec.series.map(() => [])],
      plot,
    )
    const resize = new ResizeObserver(() => {
      const width = Math.max(plot.clientWidth, 240)
      if (width !== chart.width) chart.setSize({ width, height: HEIGHT })
    })
    resize.observe(plot)
    return { spec, cell, chart, resize }
  })
  return {
    render(frames) {
      for (const { spec, cell, chart } of charts) {
        const columns = columnsOf(spec, frames)
        const points = frames.filter((_, row) =>
          columns.slice(1).some((column) => column[row] != null),
        ).length
        cell.dataset['points'] = String(points)
        chart.setData(columns as uPlot.AlignedData)
      }
    },
    destroy() {
      for (const { chart, resize } of charts) {
        resize.disconnect()
        chart.destroy()
      }
      root.replaceChildren()
    },
  }
}

/** A y range's top: the data's, with some room, never 0 (a flat zero line sits on the floor). */
function niceMax(max: number | null): number {
  if (max === null || !Number.isFinite(max) || max <= 0) return 1
  return max * 1.15
}
