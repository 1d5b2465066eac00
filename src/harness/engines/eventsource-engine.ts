import { EventSource } from 'eventsource'
import { nowUs } from '../../clock.js'
import {
  createEventObserver,
  readSnapshot,
  type TickFields,
  UNREADABLE_EVENT,
} from '../event-observer.js'
import { subscriberHeaders } from '../subscriber-token.js'
import { requestPath, symbolsText } from '../targets/wire-spec.js'
import type { Engine, EngineContext } from './engine.js'

// `message` is what an event without an `event:` line is dispatched as.
const EVENT_TYPES = ['quote', 'trade', 'status', 'message'] as const

/** The reason a fault-injected cut aborts the fetch with: a network error, not an abort. */
const CUT = Object.assign(new TypeError('connection cut by the harness (fault injection)'), {
  name: 'NetworkError',
})

/**
 * Subscribers built on the `eventsource` package: spec-true reconnection, `Last-Event-ID` and
 * `retry:` handling, as a browser does it. Heavier per event than the raw-socket engine, so for
 * smaller counts: it is the reference the fast engine is held against.
 */
export function createEventsourceEngine(context: EngineContext): Engine {
  const { metrics, wire, reader, baseUrl } = context
  const spec = wire.sse
  if (spec === null) throw new Error('the target offers no SSE stream')
  return {
    start(symbols) {
      const path = requestPath(baseUrl, wire, spec.path, {
        symbols: symbolsText(wire, symbols, context.universe),
      })
      const url = new URL(path, baseUrl.origin)
      const observer = createEventObserver(metrics, symbols, context.shared)
      const targetHeaders = subscriberHeaders(wire.headers, wire.token, symbols)
      const fields: TickFields = { ts: 0, sym: '', q: 0 }
      const startedUs = nowUs()
      let opens = 0
      let open = false
      // A fetch whose connection the harness can cut (fault injection): EventSource sees a network
      // error and reconnects by itself with Last-Event-ID, as a browser would.
      let cut: AbortController | undefined
      const source = new EventSource(url, {
        fetch: (input, init) => {
          cut = new AbortController()
          const signal = init?.signal ? AbortSignal.any([init.signal, cut.signal]) : cut.signal
          // The target's headers (credentials) beside EventSource's own.
          const headers = { ...targetHeaders, ...(init?.headers as Record<string, string>) }
          return fetch(input, { ...init, headers, signal })
        },
      })
      source.addEventListener('open', () => {
        opens++
        open = true
        metrics.connectionOpened()
        if (opens === 1) metrics.recordConnectUs(nowUs() - startedUs)
        observer.connected(nowUs())
      })
      let cutHere = false
      source.addEventListener('error', () => {
        // The harness's own cut (a drop fault) surfaces here too: the fault, not an error.
        if (!cutHere) metrics.countError('eventsource-error')
        cutHere = false
        if (open) {
          open = false
          metrics.connectionClosed()
          observer.dropped()
        }
      })
      const onTick = (event: MessageEvent): void => {
        const receiptUs = nowUs()
        const data = String(event.data)
        metrics.addBytes(data.length)
        if (reader.text(data, fields))
          observer.tick(observer.symbol(fields.sym), fields.q, fields.ts, receiptUs)
        else metrics.countError(UNREADABLE_EVENT)
      }
      for (const type of EVENT_TYPES) source.addEventListener(type, onTick)
      if (!wire.snapshots) source.addEventListener('snapshot', onTick)
      else
        source.addEventListener('snapshot', (event: MessageEvent) => {
          const snapshot = readSnapshot(String(event.data))
          if (snapshot === null) metrics.countError(UNREADABLE_EVENT)
          else observer.snapshot(snapshot, nowUs())
        })
      return {
        close() {
          observer.retire()
          if (open) metrics.connectionClosed()
          open = false
          source.close()
        },
        drop() {
          // Not a plain abort: the package takes an AbortError for its own close() and never
          // reconnects after one (the dropped half of a crowd stayed away, silently, until loss
          // was counted against what was sent). A network error is what a real cut looks like.
          if (cut === undefined) return
          cutHere = true
          cut.abort(CUT)
        },
        missing: (heads, baseline) => observer.missing(heads, baseline),
      }
    },
  }
}
