import type uPlot from 'uplot'

/** What the page's uPlot charts share: the dark theme's axes and a clock on the time axis. */
export const AXIS: uPlot.Axis = {
  stroke: '#7d8aa5',
  grid: { stroke: 'rgba(148, 163, 184, 0.09)', width: 1 },
  ticks: { stroke: 'rgba(148, 163, 184, 0.09)', width: 1 },
  font: '11px system-ui, sans-serif',
}

/** Time-axis steps in whole seconds, since the labels are clock times to the second. */
const WHOLE_SECONDS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600]

/** 14:03:07, local time. */
const clock = (seconds: number): string => new Date(seconds * 1000).toTimeString().slice(0, 8)

export const TIME_AXIS: uPlot.Axis = {
  ...AXIS,
  space: 80,
  incrs: WHOLE_SECONDS,
  values: (_chart, ticks) => ticks.map(clock),
}
