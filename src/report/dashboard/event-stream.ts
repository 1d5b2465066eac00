/**
 * The dashboard's event stream as bytes, and the bounded history a late or returning browser
 * reads the run so far from. Each event is encoded once and the same string goes to every
 * browser (the house rule for the ticker, at a gentler scale).
 *
 * Ids are `<run>-<n>`: `n` counts this dashboard's events, and `run` tells one dashboard process
 * from the next, so a tab left open across two runs on the same port, reconnecting with the
 * first run's Last-Event-ID, is given the second run from its start instead of from a number
 * that meant something else.
 */

/** HTML Standard §9.2.6: a field's value ends at the first LF (or CR), so data is split on them. */
const LINE_BREAK = /\r\n|\r|\n/

/**
 * One event in event-stream framing: `id:` first, `event:`, one `data:` line per line of the
 * payload, and the blank line that dispatches it. `id` and `event` must hold no line break (a
 * break would end the field early and turn the rest into a field of its own), nor may an id hold
 * NULL, which makes a browser ignore the id (§9.2.6, "id").
 */
export function encodeEvent(event: {
  readonly id?: string
  readonly event?: string
  readonly data: string
}): string {
  let text = ''
  if (event.id !== undefined) text += `id: ${singleLine(event.id, 'id')}\n`
  if (event.event !== undefined) text += `event: ${singleLine(event.event, 'event')}\n`
  for (const line of event.data.split(LINE_BREAK)) text += `data: ${line}\n`
  return `${text}\n`
}

/** A comment line: ignored by every parser, it keeps proxies and idle timers from closing us. */
export function encodeComment(text: string): string {
  return `: ${singleLine(text, 'comment')}\n\n`
}

/** `retry:` alone: how long a browser waits before reconnecting (§9.2.6, "retry"). */
export function encodeRetry(ms: number): string {
  return `retry: ${Math.max(0, Math.round(ms))}\n\n`
}

function singleLine(value: string, what: string): string {
  if (/[\r\n\0]/.test(value)) throw new Error(`an event-stream ${what} cannot hold CR, LF or NUL`)
  return value
}

export interface StoredEvent {
  readonly seq: number
  readonly bytes: string
}

export interface EventHistory {
  /** This dashboard's run token, the prefix of every id. */
  readonly run: string
  /** Encodes an event with the next id, keeps it (evicting the oldest past the bound). */
  append(event: string, data: string): StoredEvent
  /**
   * What a browser that last saw `lastEventId` is missing: the events after it, or, when that
   * id is absent, of another run, or older than the history, every event kept and `reset: true`
   * (the browser must drop what it shows: the history no longer joins it).
   */
  since(lastEventId: string | undefined): {
    readonly reset: boolean
    readonly events: StoredEvent[]
  }
  /** Events dropped from the front to keep the bound. */
  readonly evicted: number
  readonly size: number
}

/** A history of at most `maxEvents` events: a bounded ring, oldest out first. */
export function createEventHistory(maxEvents: number, run: string): EventHistory {
  if (!(Number.isInteger(maxEvents) && maxEvents >= 1)) {
    throw new RangeError(`maxEvents must be an integer ≥ 1, got ${maxEvents}`)
  }
  const ring: (StoredEvent | undefined)[] = new Array(maxEvents)
  /** The next event's number; numbers start at 1, so `0` means "nothing seen yet". */
  let next = 1
  let evicted = 0
  const first = () => next - Math.min(next - 1, maxEvents)
  return {
    run,
    append(event, data) {
      const seq = next++
      const stored = { seq, bytes: encodeEvent({ id: `${run}-${seq}`, event, data }) }
      if (ring[seq % maxEvents] !== undefined) evicted++
      ring[seq % maxEvents] = stored
      return stored
    },
    since(lastEventId) {
      const seen = parseId(lastEventId, run)
      const from = first()
      // A seq from the future (a tab from a run that had more events) is another run too.
      const joins = seen !== null && seen >= from - 1 && seen < next
      const events: StoredEvent[] = []
      for (let seq = joins ? seen + 1 : from; seq < next; seq++) events.push(ring[seq % maxEvents]!)
      return { reset: !joins, events }
    },
    get evicted() {
      return evicted
    },
    get size() {
      return next - first()
    },
  }
}

/** The event number of an id of this run, or null (absent, malformed or another run's). */
function parseId(id: string | undefined, run: string): number | null {
  if (id === undefined) return null
  const match = /^([0-9a-z]+)-(\d{1,15})$/.exec(id.trim())
  if (match === null || match[1] !== run) return null
  return Number(match[2])
}
