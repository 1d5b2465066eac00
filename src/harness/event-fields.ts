/**
 * Reading an event's scheduled time, sequence and key from any server's JSON payload, where the
 * target's `event` fields say they are. tickstorm's own shape (and the payload the harness's
 * publisher writes) takes the fast reader; any other shape is parsed and read by path.
 */

import { readAnyTick, type TickFields } from './event-observer.js'
import { type EventFieldSpec, isTickstormEventFields } from './targets/wire-spec.js'

/** Reads one event's fields into `out`; false when it cannot be read (the error `unreadable-event`). */
export interface EventReader {
  /** From the event's data text (SSE `data:`, a WebSocket message, a long-poll answer). */
  text(data: string, out: TickFields): boolean
  /** From an already parsed payload (an element of a long-poll or WebSocket events array). */
  value(payload: unknown, out: TickFields): boolean
}

const TO_US: Readonly<Record<EventFieldSpec['timeUnit'], number>> = {
  ns: 0.001,
  us: 1,
  ms: 1000,
  s: 1_000_000,
}

/** A JSON path the harness reads: `$` then `.name` steps (`$.meta.ts`). */
export const FIELD_PATH = /^\$(\.[A-Za-z_][\w-]*)+$/

export function createEventReader(fields: EventFieldSpec): EventReader {
  const time = steps(fields.time)
  const sequence = steps(fields.sequence)
  const key = fields.key === null ? null : steps(fields.key)
  const scale = TO_US[fields.timeUnit]
  const value = (payload: unknown, out: TickFields): boolean => {
    const ts = at(payload, time)
    const q = at(payload, sequence)
    if (typeof ts !== 'number' || !Number.isFinite(ts)) return false
    // Without a sequence a gap cannot be told from a duplicate: unreadable, never a q of 0.
    if (typeof q !== 'number' || !Number.isInteger(q) || q < 0) return false
    let sym = ''
    if (key !== null) {
      const name = at(payload, key)
      if (typeof name === 'string') sym = name
      else if (typeof name === 'number') sym = String(name)
      else return false
    }
    out.ts = scale === 1 ? ts : Math.round(ts * scale)
    out.sym = sym
    out.q = q
    return true
  }
  const parsed = (data: string, out: TickFields): boolean => {
    let payload: unknown
    try {
      payload = JSON.parse(data)
    } catch {
      return false
    }
    return value(payload, out)
  }
  return { text: isTickstormEventFields(fields) ? readAnyTick : parsed, value }
}

function steps(path: string): string[] {
  if (!FIELD_PATH.test(path)) throw new Error(`not a field path: ${path}`)
  return path.slice(2).split('.')
}

function at(value: unknown, path: readonly string[]): unknown {
  let current = value
  for (const step of path) {
    if (typeof current !== 'object' || current === null) return undefined
    current = (current as Record<string, unknown>)[step]
  }
  return current
}
