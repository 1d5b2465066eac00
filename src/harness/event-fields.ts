/**
 * Reading an event's scheduled time, sequence and key from any server's JSON payload, where the
 * target's `event` fields say they are. tickstorm's own shape (and the payload the harness's
 * publisher writes) takes the fast reader; any other shape is parsed and read by path.
 */

import { readAnyTick, type TickFields } from './event-observer.js'
import { type EventFieldSpec, isTickstormEventFields } from './targets/wire-spec.js'

/** Reads one event's data into `out`; false when it cannot be read (the error `unreadable-event`). */
export type EventReader = (data: string, out: TickFields) => boolean

const TO_US: Readonly<Record<EventFieldSpec['timeUnit'], number>> = {
  ns: 0.001,
  us: 1,
  ms: 1000,
  s: 1_000_000,
}

/** A JSON path the harness reads: `$` then `.name` steps (`$.meta.ts`). */
export const FIELD_PATH = /^\$(\.[A-Za-z_][\w-]*)+$/

export function createEventReader(fields: EventFieldSpec): EventReader {
  if (isTickstormEventFields(fields)) return readAnyTick
  const time = steps(fields.time)
  const sequence = steps(fields.sequence)
  const key = fields.key === null ? null : steps(fields.key)
  const scale = TO_US[fields.timeUnit]
  return (data, out) => {
    let parsed: unknown
    try {
      parsed = JSON.parse(data)
    } catch {
      return false
    }
    const ts = at(parsed, time)
    const q = at(parsed, sequence)
    if (typeof ts !== 'number' || !Number.isFinite(ts)) return false
    if (typeof q !== 'number' || !Number.isInteger(q) || q < 0) return false
    let sym = ''
    if (key !== null) {
      const value = at(parsed, key)
      if (typeof value === 'string') sym = value
      else if (typeof value === 'number') sym = String(value)
      else return false
    }
    out.ts = Math.round(ts * scale)
    out.sym = sym
    out.q = q
    return true
  }
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
