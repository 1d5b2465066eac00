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
      const urlFor = (list: readonly string[] | null) =>
        new URL(
          requestPath(baseUrl, wire, spec.path, {
            symbols: symbolsText(wire, list, context.universe),
          }),
          baseUrl.origin,
        )
      const observer = createEventObserver(metrics, symbols, context.shared)
      let targetHeaders = subscriberHeaders(wire.headers, wire.token, symbols)
      const fields: TickFields = { ts: 0, sym: '', q: 0 }
      const startedUs = nowUs()
      let opens = 0
      let open = false
      let closed = false
      // The id of the last event received, kept across sources: a change opens a new one.
      let lastEventId = ''
      // A fetch whose connection the harness can cut (fault injection): EventSource sees a network
      // error and reconnects by itself with Last-Event-ID, as a browser would.
      let cut: AbortController | undefined
      let cutHere = false

      const onTick = (event: MessageEvent): void => {
        const receiptUs = nowUs()
        if (event.lastEventId !== '') lastEventId = event.lastEventId
        const data = String(event.data)
        metrics.addBytes(data.length)
        if (reader.text(data, fields))
          observer.tick(observer.symbol(fields.sym), fields.q, fields.ts, receiptUs)
        else metrics.countError(UNREADABLE_EVENT)
      }
      const onSnapshot = (event: MessageEvent): void => {
        if (event.lastEventId !== '') lastEventId = event.lastEventId
        const snapshot = readSnapshot(String(event.data))
        if (snapshot === null) metrics.countError(UNREADABLE_EVENT)
        else observer.snapshot(snapshot, nowUs())
      }

      /**
       * A source for `url`. `resumeFrom` (a change's, not a reconnect's: EventSource resumes those
       * itself) asks for what followed the last event received, the target's way: the header on
       * the source's first request, or the query parameter.
       */
      const openSource = (url: URL, resumeFrom: string): EventSource => {
        let firstRequest = resumeFrom !== ''
        if (firstRequest && spec.resume !== 'none' && spec.resume !== 'last-event-id') {
          url.searchParams.set(spec.resume.query, resumeFrom)
          firstRequest = false
        }
        const source = new EventSource(url, {
          fetch: (input, init) => {
            cut = new AbortController()
            const signal = init?.signal ? AbortSignal.any([init.signal, cut.signal]) : cut.signal
            // The target's headers (credentials) beside EventSource's own.
            const headers: Record<string, string> = {
              ...targetHeaders,
              ...(init?.headers as Record<string, string>),
            }
            if (firstRequest && spec.resume === 'last-event-id')
              headers['Last-Event-ID'] ??= resumeFrom
            firstRequest = false
            return fetch(input, { ...init, headers, signal })
          },
        })
        source.addEventListener('open', () => {
          opens++
          open = true
          metrics.connectionOpened()
          if (opens === 1) metrics.recordConnectUs(nowUs() - startedUs)
          const atUs = nowUs()
          observer.connected(atUs)
          observer.acknowledged(atUs)
        })
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
        for (const type of EVENT_TYPES) source.addEventListener(type, onTick)
        source.addEventListener('snapshot', wire.snapshots ? onSnapshot : onTick)
        return source
      }
      let source = openSource(urlFor(symbols), '')

      return {
        close() {
          closed = true
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
        changeSymbols(next) {
          if (symbols === null || closed) return
          observer.changeSymbols(next, nowUs())
          targetHeaders = subscriberHeaders(wire.headers, wire.token, next)
          // An EventSource's URL is fixed: a page changing what it follows opens another and
          // closes this one (its close is no drop, and it dispatches no error).
          if (open) metrics.connectionClosed()
          open = false
          source.close()
          cut = undefined
          source = openSource(urlFor(next), lastEventId)
        },
      }
    },
  }
}
