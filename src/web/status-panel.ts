import { formatClock, formatCount, formatLatencyUs } from './format.js'
import { LATENCY_WINDOW_MS, type StreamStats } from './stream-stats.js'
import {
  type ConnectionState,
  type StateChange,
  TRANSPORT_LABELS,
  type TransportName,
} from './transport.js'

const LOG_LIMIT = 60

const STATE_LABELS: Readonly<Record<ConnectionState, string>> = {
  connecting: 'Connecting',
  open: 'Open',
  reconnecting: 'Reconnecting',
  closed: 'Closed',
}

/** EventSource.readyState for each state: what the browser itself reports for SSE. */
const READY_STATES: Readonly<Record<ConnectionState, string>> = {
  connecting: 'readyState 0 · CONNECTING',
  open: 'readyState 1 · OPEN',
  reconnecting: 'readyState 0 · CONNECTING',
  closed: 'readyState 2 · CLOSED',
}

export type LogKind = 'state' | 'resume' | 'catchup' | 'drop' | 'switch' | 'watch' | 'warn'

export interface StatusPanel {
  setState(change: StateChange, transport: TransportName): void
  setReconnects(count: number, resumedFrom: string | null): void
  renderStats(stats: StreamStats, nowMs: number): void
  log(kind: LogKind, text: string, state?: ConnectionState): void
}

const byId = (id: string): HTMLElement => {
  const node = document.getElementById(id)
  if (node === null) throw new Error(`the page has no #${id}`)
  return node
}

/** Writes a figure and its raw value (the end-to-end test reads `data-value`). */
function setFigure(node: HTMLElement, text: string, value: string | number): void {
  if (node.textContent !== text) node.textContent = text
  node.dataset['value'] = String(value)
}

/** The connection badge, the figures strip and the connection log. */
export function createStatusPanel(): StatusPanel {
  const connection = byId('connection')
  const connectionLabel = byId('connection-label')
  const connectionSub = byId('connection-sub')
  const rate = byId('stat-rate')
  const events = byId('stat-events')
  const p50 = byId('stat-latency')
  const latencyDetail = byId('stat-latency-detail')
  const gaps = byId('stat-gaps')
  const gapsDetail = byId('stat-gaps-detail')
  const reconnects = byId('stat-reconnects')
  const resume = byId('stat-resume')
  const lastId = byId('stat-last-id')
  const log = byId('log')

  return {
    setState(change, transport) {
      connection.dataset['state'] = change.state
      connectionLabel.textContent = STATE_LABELS[change.state]
      connectionSub.textContent =
        transport === 'sse'
          ? `EventSource ${READY_STATES[change.state]}`
          : `${TRANSPORT_LABELS[transport]} · ${change.state}`
    },
    setReconnects(count, resumedFrom) {
      setFigure(reconnects, formatCount(count), count)
      if (resumedFrom === null) setFigure(resume, 'no reconnect yet', '')
      else setFigure(resume, `resumed from id ${resumedFrom}`, resumedFrom)
    },
    renderStats(stats, nowMs) {
      const perSec = stats.ratePerSec(nowMs)
      setFigure(rate, formatCount(perSec), Math.round(perSec))
      setFigure(events, `${formatCount(stats.events)} events received`, stats.events)
      const latency = stats.latency(nowMs)
      setFigure(p50, formatLatencyUs(latency.p50Us), Math.round(latency.p50Us))
      // Both percentiles cover the same window, which the tile names: a p99 means little
      // without the span it is taken over.
      const p99 = formatLatencyUs(latency.p99Us)
      const text = `p99 ${p99} · last ${LATENCY_WINDOW_MS / 1000}\u00a0s`
      if (latencyDetail.textContent !== text) latencyDetail.textContent = text
      latencyDetail.dataset['p99'] = String(Math.round(latency.p99Us))
      latencyDetail.dataset['windowMs'] = String(LATENCY_WINDOW_MS)
      setFigure(gaps, formatCount(stats.gaps), stats.gaps)
      gaps.dataset['ok'] = String(stats.gaps === 0)
      gapsDetail.textContent = `${formatCount(stats.duplicates)} duplicates · ${formatCount(stats.resets)} resets`
      gapsDetail.dataset['duplicates'] = String(stats.duplicates)
      gapsDetail.dataset['resets'] = String(stats.resets)
      setFigure(lastId, stats.lastId ?? '—', stats.lastId ?? '')
    },
    log(kind, text, state) {
      const item = document.createElement('li')
      item.dataset['kind'] = kind
      if (state !== undefined) item.dataset['state'] = state
      const time = document.createElement('time')
      time.textContent = formatClock(Date.now())
      const tag = document.createElement('span')
      tag.className = 'tag'
      tag.textContent = state ?? kind
      const message = document.createElement('span')
      message.className = 'message'
      message.textContent = text
      item.append(time, tag, message)
      log.prepend(item)
      while (log.childElementCount > LOG_LIMIT) log.lastElementChild?.remove()
    },
  }
}
