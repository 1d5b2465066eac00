import 'uplot/dist/uPlot.min.css'
import './dashboard.css'
import { formatCount } from '../format.js'
import { dashboardCharts, TRANSPORT_COLORS, TRANSPORT_LABELS } from './chart-specs.js'
import { type DashboardCharts, mountCharts } from './charts.js'
import {
  type DashboardFrame,
  type Done,
  eventNumber,
  type Hello,
  type TransportName,
} from './frame.js'

/**
 * The run dashboard: `tickstorm run --dashboard` serves this page and pushes the run to it over
 * Server-Sent Events, read with the browser's own EventSource (our own medicine: it reconnects
 * by itself and sends Last-Event-ID, and the server replays what the tab missed). A frame per
 * transport per second feeds the charts, the tiles and the table; `done` brings the verdict and
 * the link to report.html, and the page then closes the stream and keeps the finished run.
 */

/** Frames kept on the charts: an hour of one transport. */
const MAX_FRAMES = 3600

type State = 'connecting' | 'live' | 'reconnecting' | 'done' | 'lost'

const byId = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const node = document.getElementById(id)
  if (node === null) throw new Error(`the page has no #${id}`)
  return node as T
}

const ms = (value: number | null | undefined): string =>
  value == null
    ? '–'
    : value < 10
      ? `${value.toFixed(2)} ms`
      : value < 100
        ? `${value.toFixed(1)} ms`
        : `${formatCount(value)} ms`

const seconds = (value: number): string => `${Math.floor(value)}`

const frames: DashboardFrame[] = []
const latest = new Map<TransportName, DashboardFrame>()
let hello: Hello | null = null
let lastSeq = 0
let charts: DashboardCharts | null = null
let state: State = 'connecting'
let done: Done | null = null
let drawQueued = false

function setState(next: State): void {
  state = next
  document.body.dataset['state'] = next
  renderStatus()
}

function clearRun(): void {
  frames.length = 0
  latest.clear()
  lastSeq = 0
  done = null
  document.body.dataset['frames'] = '0'
  byId('verdict').hidden = true
  document.body.dataset['verdict'] = ''
}

function onHello(next: Hello): void {
  // A tab kept across two runs on one port: the new run starts on clean charts.
  if (hello !== null && hello.run !== next.run) clearRun()
  const transportsChanged = hello?.transports.join() !== next.transports.join()
  hello = next
  byId('scenario').textContent = next.scenario
  byId('run-id').textContent = next.runId === null ? '' : `run ${next.runId}`
  document.title = `tickstorm · ${next.scenario} · dashboard`
  if (charts === null || transportsChanged) {
    charts?.destroy()
    charts = mountCharts(byId('charts'), dashboardCharts(next.transports))
  }
  queueDraw()
}

function onFrame(frame: DashboardFrame, id: string): void {
  const seq = eventNumber(id, hello?.run ?? null)
  // A replayed event the tab already has (the server resumes after Last-Event-ID; this guards
  // the seam anyway).
  if (seq !== null && seq <= lastSeq) return
  if (seq !== null) lastSeq = seq
  frames.push(frame)
  if (frames.length > MAX_FRAMES) frames.splice(0, frames.length - MAX_FRAMES)
  latest.set(frame.transport, frame)
  document.body.dataset['frames'] = String(Number(document.body.dataset['frames'] ?? 0) + 1)
  queueDraw()
}

function onDone(outcome: Done, id: string): void {
  const seq = eventNumber(id, hello?.run ?? null)
  if (seq !== null) lastSeq = Math.max(lastSeq, seq)
  done = outcome
  const verdict = byId('verdict')
  verdict.hidden = false
  verdict.dataset['label'] = outcome.label
  document.body.dataset['verdict'] = outcome.label
  byId('verdict-label').textContent = outcome.label
  const reasons = byId('verdict-reasons')
  reasons.replaceChildren(
    ...outcome.reasons.map((reason) => {
      const item = document.createElement('li')
      item.textContent = reason
      return item
    }),
  )
  const link = byId<HTMLAnchorElement>('report-link')
  link.hidden = outcome.report === null
  if (outcome.report !== null) link.href = outcome.report
  byId('result-dir').textContent = outcome.resultDir ?? ''
  queueDraw()
}

/** Draws on the next animation frame: a replayed history of thousands of frames draws once. */
function queueDraw(): void {
  if (drawQueued) return
  drawQueued = true
  requestAnimationFrame(() => {
    drawQueued = false
    charts?.render(frames)
    renderTiles()
    renderTable()
    renderStatus()
  })
}

function current(): DashboardFrame | undefined {
  return frames.at(-1)
}

function renderStatus(): void {
  const frame = current()
  const words: Record<State, string> = {
    connecting: 'Connecting',
    live: 'Live',
    reconnecting: 'Reconnecting',
    done: 'Finished',
    lost: 'Disconnected',
  }
  byId('status-label').textContent = words[state]
  const parts: string[] = []
  if (frame !== undefined) {
    parts.push(TRANSPORT_LABELS[frame.transport])
    if (state !== 'done') {
      parts.push(frame.measuring ? 'measuring' : 'ramp / warm-up')
      parts.push(`${seconds(frame.elapsedSec)} / ${seconds(frame.totalSec)} s`)
    }
    parts.push(`${formatCount(frame.connected)}/${formatCount(frame.subscribers)} connected`)
  } else if (state === 'live') {
    parts.push('waiting for the first second of the run')
  }
  if (done !== null) parts.push(done.label)
  byId('status-detail').textContent = parts.join(' · ')
  byId('status').dataset['state'] = state
}

function renderTiles(): void {
  const frame = current()
  const set = (id: string, text: string) => {
    byId(id).textContent = text
  }
  set('tile-connected', frame === undefined ? '–' : formatCount(frame.connected))
  set('tile-connected-of', frame === undefined ? '' : `of ${formatCount(frame.subscribers)}`)
  set('tile-deliveries', frame === undefined ? '–' : formatCount(frame.deliveriesPerSec))
  set('tile-p99', ms(frame?.last?.p99))
  set('tile-p99-cumulative', frame?.cumulative == null ? '' : `${ms(frame.cumulative.p99)} so far`)
  set('tile-errors', frame === undefined ? '–' : formatCount(frame.errorsTotal))
  set(
    'tile-reconnects',
    frame === undefined ? '' : `${formatCount(frame.reconnectsTotal)} reconnects`,
  )
  set('tile-harness', frame?.harness == null ? '–' : `${Math.round(frame.harness.cpuPercent)} %`)
  set('tile-loop', frame?.harness == null ? '' : `loop p99 ${ms(frame.harness.eventLoopP99Ms)}`)
  document.body.dataset['deliveries'] = String(frame?.deliveriesPerSec ?? 0)
}

function renderTable(): void {
  const rows = [...latest.values()].map((frame) => {
    const row = document.createElement('tr')
    row.dataset['transport'] = frame.transport
    const cells = [
      TRANSPORT_LABELS[frame.transport],
      `${formatCount(frame.connected)}/${formatCount(frame.subscribers)}`,
      formatCount(frame.deliveriesPerSec),
      formatCount(frame.deliveriesTotal),
      ms(frame.cumulative?.p50),
      ms(frame.cumulative?.p90),
      ms(frame.cumulative?.p99),
      ms(frame.cumulative?.max),
      formatCount(frame.errorsTotal),
      formatCount(frame.reconnectsTotal),
    ]
    cells.forEach((text, index) => {
      const cell = document.createElement(index === 0 ? 'th' : 'td')
      if (index === 0) {
        cell.scope = 'row'
        cell.style.setProperty('--color', TRANSPORT_COLORS[frame.transport])
      }
      cell.textContent = text
      row.append(cell)
    })
    return row
  })
  byId('transport-rows').replaceChildren(...rows)
}

function parse<T>(event: MessageEvent<string>): T | null {
  try {
    return JSON.parse(event.data) as T
  } catch {
    return null
  }
}

function connect(): void {
  const source = new EventSource('/events')
  source.addEventListener('open', () => setState(done === null ? 'live' : 'done'))
  source.addEventListener('hello', (event) => {
    const next = parse<Hello>(event)
    if (next !== null) onHello(next)
  })
  source.addEventListener('reset', () => {
    clearRun()
    queueDraw()
  })
  source.addEventListener('frame', (event) => {
    const frame = parse<DashboardFrame>(event)
    if (frame !== null) onFrame(frame, event.lastEventId)
  })
  source.addEventListener('done', (event) => {
    const outcome = parse<Done>(event)
    if (outcome === null) return
    onDone(outcome, event.lastEventId)
    // The run is over and the server may go with it: keep the page as it is, stop listening.
    source.close()
    setState('done')
  })
  source.addEventListener('error', () => {
    if (state === 'done') return
    setState(source.readyState === EventSource.CLOSED ? 'lost' : 'reconnecting')
  })
}

setState('connecting')
connect()
