/**
 * Harness CPU per event of the SSE engine's two ways through a stream of our tick events: the
 * WHATWG parser alone (then `readTickFields` and a symbol lookup by string, as the engine did
 * before the fast path) against the byte-level fast path in front of it (`createSseTickReader`).
 *
 *   npm run build && node dist/bench/micro/sse-fast-path.bench.js [--per-chunk 100] [--rounds 15]
 *
 * Method: ~16 MiB of events as the server writes them (`encodeSseEvent` + `encodeTickJson`: 80 %
 * quotes, 19 % trades, 1 % status changes over 10 symbols, per-symbol `q` in order), in chunks of
 * `--per-chunk` whole events (100: a 50 ms frame at 2,000 events/s, one socket read; 1: every
 * event its own write), or, with `--chunk-bytes n`, cut every n bytes so chunk edges fall inside
 * events. Each round feeds every chunk to a fresh subscriber. Two depths: "fields" stops at the
 * event's fields (folded into a checksum), "observer" goes on into an `EventObserver` over real
 * `TransportMetrics` (sequence tracking and the WASM latency histogram), which is what a harness
 * worker does per event short of the socket. Time is the process's CPU time (user + system), not
 * wall time, so other load on a shared machine inflates it less. Rounds alternate between subjects
 * so drift hits all alike; each figure is the median round after warm-up rounds, and every round
 * checks its count.
 */

import { cpus } from 'node:os'
import { parseArgs } from 'node:util'
import {
  createEventObserver,
  type EventObserver,
  readTickFields,
  type TickFields,
} from '../../src/harness/event-observer.js'
import { createSseTickReader } from '../../src/harness/sse-fast-path.js'
import { createTransportMetrics } from '../../src/harness/transport-metrics.js'
import type { Tick } from '../../src/market/types.js'
import { encodeSseEvent } from '../../src/wire/sse-frame.js'
import { createSseParser, type SseEvent } from '../../src/wire/sse-parser.js'
import { encodeTickJson } from '../../src/wire/tick-json.js'
import { median } from './median.js'

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '16' },
    'per-chunk': { type: 'string', default: '100' },
    'chunk-bytes': { type: 'string' },
    rounds: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '5' },
  },
})
const streamMiB = Number(values.mib)
const eventsPerChunk = Number(values['per-chunk'])
const chunkBytes = values['chunk-bytes'] === undefined ? null : Number(values['chunk-bytes'])
const rounds = Number(values.rounds)
const warmupRounds = Number(values.warmup)

const SYMBOLS = ['AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOGL', 'META', 'TSLA', 'BRKB', 'JPM', 'V']
const BASE_US = 1_732_400_000_000_000
/** Every event is "received" this long after its scheduled time. */
const LATENCY_US = 1500

function buildStream(targetBytes: number): {
  parts: Uint8Array[]
  bytes: Uint8Array
  events: number
} {
  const parts: Uint8Array[] = []
  const seqs = SYMBOLS.map(() => 0)
  let size = 0
  let id = 0
  let state = 7
  while (size < targetBytes) {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0
    const which = state % SYMBOLS.length
    const roll = (state >>> 8) % 100
    const seq = ++seqs[which]!
    const base = { symbol: which, seq, simTimeUs: 0 }
    const tick: Tick =
      roll < 80
        ? { ...base, kind: 'quote', bid: 1_891_200, bidSize: 300, ask: 1_891_300, askSize: 500 }
        : roll < 99
          ? { ...base, kind: 'trade', price: 1_891_250, size: 100, conditions: [0] }
          : { ...base, kind: 'status', status: 'halted', reason: 'luld' }
    id++
    const event = encodeSseEvent(id, tick.kind, encodeTickJson(tick, SYMBOLS[which]!, BASE_US + id))
    parts.push(event)
    size += event.length
  }
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const part of parts) {
    bytes.set(part, offset)
    offset += part.length
  }
  return { parts, bytes, events: id }
}

const { parts, bytes, events } = buildStream(streamMiB * 1024 * 1024)
const chunks: Uint8Array[] = []
if (chunkBytes === null) {
  for (let i = 0; i < parts.length; i += eventsPerChunk) {
    chunks.push(Buffer.concat(parts.slice(i, i + eventsPerChunk)))
  }
} else {
  for (let offset = 0; offset < bytes.length; offset += chunkBytes) {
    chunks.push(bytes.subarray(offset, Math.min(offset + chunkBytes, bytes.length)))
  }
}

const metrics = createTransportMetrics('sse', { nowMs: Date.now() })
let checksum = 0

interface Subject {
  readonly name: string
  /** Feeds every chunk to a fresh subscriber; returns the number of events seen. */
  readonly run: () => number
  /** CPU ms per round. */
  readonly samplesMs: number[]
}

/**
 * The engine's per-event work on a parsed event (all of it before the fast path): the fields, the
 * symbol by string. Returns whether the event was a tick.
 */
function parsedTick(
  event: SseEvent,
  fields: TickFields,
  observer: EventObserver,
  observe: boolean,
): boolean {
  if (event.type === 'snapshot' || !readTickFields(event.data, fields)) return false
  if (observe)
    observer.tick(observer.symbol(fields.sym), fields.q, fields.ts, fields.ts + LATENCY_US)
  else checksum = (checksum + fields.sym.length + fields.q + fields.ts) | 0
  return true
}

/** The parser alone, then the engine's old per-event work. */
function parserSubject(observe: boolean): () => number {
  return () => {
    let count = 0
    const observer = createEventObserver(metrics)
    const fields: TickFields = { ts: 0, sym: '', q: 0 }
    const parser = createSseParser({
      onEvent(event) {
        if (parsedTick(event, fields, observer, observe)) count++
      },
    })
    for (const chunk of chunks) parser.feed(chunk)
    return count
  }
}

/** The fast path in front of the parser, as the engine runs it now. */
function fastPathSubject(observe: boolean): () => number {
  return () => {
    let count = 0
    const observer = createEventObserver(metrics)
    const fields: TickFields = { ts: 0, sym: '', q: 0 }
    const reader = createSseTickReader({
      symbol: observer.symbol,
      onTick(symbol, q, scheduledUs) {
        count++
        if (observe) observer.tick(symbol, q, scheduledUs, scheduledUs + LATENCY_US)
        else checksum = (checksum + symbol.name.length + q + scheduledUs) | 0
      },
      onEvent(event) {
        if (parsedTick(event, fields, observer, observe)) count++
      },
    })
    for (const chunk of chunks) reader.feed(chunk)
    return count
  }
}

const subjects: Subject[] = [
  { name: 'parser → fields', run: parserSubject(false), samplesMs: [] },
  { name: 'fast path → fields', run: fastPathSubject(false), samplesMs: [] },
  { name: 'parser → observer', run: parserSubject(true), samplesMs: [] },
  { name: 'fast path → observer', run: fastPathSubject(true), samplesMs: [] },
]

for (let round = 0; round < warmupRounds + rounds; round++) {
  for (const subject of subjects) {
    const started = process.cpuUsage()
    const count = subject.run()
    const cpu = process.cpuUsage(started)
    const elapsedMs = (cpu.user + cpu.system) / 1000
    if (count !== events) throw new Error(`${subject.name}: ${count} events, expected ${events}`)
    if (round >= warmupRounds) subject.samplesMs.push(elapsedMs)
  }
}

console.log(
  `node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}; ${(bytes.length / 1048576).toFixed(1)} MiB, ` +
    `${events} events of ${Math.round(bytes.length / events)} B, ` +
    `${chunkBytes === null ? `${eventsPerChunk} whole events` : `${chunkBytes} B`} per chunk, ` +
    `median CPU time of ${rounds} rounds after ${warmupRounds} warm-up`,
)
console.table(
  subjects.map((subject) => {
    const seconds = median(subject.samplesMs) / 1000
    return {
      subject: subject.name,
      'events/s (one core)': `${(events / seconds / 1e6).toFixed(2)} M`,
      'CPU ns/event': Math.round((seconds * 1e9) / events),
    }
  }),
)
metrics.destroy()
if (checksum === 0x7fffffff) console.log('') // keeps `checksum` observable
