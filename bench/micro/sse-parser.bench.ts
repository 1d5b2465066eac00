/**
 * Throughput of `createSseParser` on a stream of typical tick events, against
 * `eventsource-parser` (the parser inside the `eventsource` client) measured in the same run.
 *
 *   npm run build && node dist/bench/micro/sse-parser.bench.js [--mib 16] [--chunk 16384] [--rounds 15]
 *
 * Method: one ~16 MiB stream of `id`/`event: quote`/`data: {...}` frames, cut into fixed-size
 * chunks (so chunk edges fall anywhere inside frames, as on a socket) and fed to a fresh parser
 * per round. Rounds alternate between the parsers so that drift (thermal, GC, other load) hits
 * both alike; each figure is the median round after warm-up rounds. Every round checks the
 * event count and folds event fields into a checksum so the work cannot be optimized away.
 * `eventsource-parser` takes strings, so its main figure includes the streaming `TextDecoder`
 * its users must run first; the decode-free figure is shown as well.
 */

import { cpus } from 'node:os'
import { parseArgs } from 'node:util'
import { createSseParser } from '../../src/wire/sse-parser.js'
import { median } from './median.js'

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '16' },
    chunk: { type: 'string', default: '16384' },
    rounds: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '5' },
  },
})
const streamMiB = Number(values.mib)
const chunkBytes = Number(values.chunk)
const rounds = Number(values.rounds)
const warmupRounds = Number(values.warmup)

interface Subject {
  readonly name: string
  /** Parses every chunk with a fresh parser; returns the number of events. */
  readonly run: () => number
  readonly samplesMs: number[]
}

function buildStream(targetBytes: number): { bytes: Uint8Array; events: number } {
  const frames: string[] = []
  let size = 0
  let id = 0
  while (size < targetBytes) {
    id++
    const frame = `id: ${id}\nevent: quote\ndata: {"ts":1732400000000000,"sym":"AAPL","q":88,"bp":189.12,"bs":300,"ap":189.13,"as":500}\n\n`
    frames.push(frame)
    size += frame.length // ASCII: one byte per character
  }
  return { bytes: new TextEncoder().encode(frames.join('')), events: id }
}

const { bytes, events } = buildStream(streamMiB * 1024 * 1024)
const chunks: Uint8Array[] = []
for (let offset = 0; offset < bytes.length; offset += chunkBytes) {
  chunks.push(bytes.subarray(offset, Math.min(offset + chunkBytes, bytes.length)))
}

let checksum = 0
function fold(type: string, data: string, lastEventId: string): void {
  checksum = (checksum + type.length + data.length + lastEventId.length) | 0
}

const subjects: Subject[] = [
  {
    name: 'tickstorm createSseParser (bytes)',
    samplesMs: [],
    run() {
      let count = 0
      const parser = createSseParser({
        onEvent(event) {
          count++
          fold(event.type, event.data, event.lastEventId)
        },
      })
      for (const chunk of chunks) parser.feed(chunk)
      return count
    },
  },
]

try {
  const { createParser } = await import('eventsource-parser')
  subjects.push(
    {
      name: 'eventsource-parser + TextDecoder',
      samplesMs: [],
      run() {
        let count = 0
        const parser = createParser({
          onEvent(event) {
            count++
            fold(event.event ?? 'message', event.data, event.id ?? '')
          },
        })
        const decoder = new TextDecoder()
        for (const chunk of chunks) parser.feed(decoder.decode(chunk, { stream: true }))
        return count
      },
    },
    {
      name: 'eventsource-parser, pre-decoded strings',
      samplesMs: [],
      run: (() => {
        const decoder = new TextDecoder()
        const strings = chunks.map((chunk) => decoder.decode(chunk, { stream: true }))
        return () => {
          let count = 0
          const parser = createParser({
            onEvent(event) {
              count++
              fold(event.event ?? 'message', event.data, event.id ?? '')
            },
          })
          for (const text of strings) parser.feed(text)
          return count
        }
      })(),
    },
  )
} catch {
  console.log('eventsource-parser is not installed: no baseline this run')
}

for (let round = 0; round < warmupRounds + rounds; round++) {
  for (const subject of subjects) {
    const startMs = performance.now()
    const count = subject.run()
    const elapsedMs = performance.now() - startMs
    if (count !== events) throw new Error(`${subject.name}: ${count} events, expected ${events}`)
    if (round >= warmupRounds) subject.samplesMs.push(elapsedMs)
  }
}

console.log(
  `node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}; ${(bytes.length / 1048576).toFixed(1)} MiB, ` +
    `${events} events of ${Math.round(bytes.length / events)} B, ${chunkBytes} B chunks, ` +
    `median of ${rounds} rounds after ${warmupRounds} warm-up`,
)
const rows = subjects.map((subject) => {
  const seconds = median(subject.samplesMs) / 1000
  return {
    parser: subject.name,
    'MB/s': Math.round(bytes.length / seconds / 1e6),
    'events/s': `${(events / seconds / 1e6).toFixed(2)} M`,
    'ns/event': Math.round((seconds * 1e9) / events),
  }
})
console.table(rows)
if (checksum === 0x7fffffff) console.log('') // keeps `checksum` observable
