/**
 * How the fan-out benchmarks report: one header line with the command, commit, Node and machine,
 * one table row per measured run, and a `.txt` + `.json` pair under `results/`.
 */

import { execSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { dirname } from 'node:path'
import type { Row, StreamRun } from './measure.js'

/** The checkout's commit, marked when `src/` has uncommitted changes. */
export function benchCommit(): string {
  try {
    const head = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim()
    const dirty = execSync('git status --porcelain -- src', { encoding: 'utf8' }).trim()
    return dirty === '' ? head : `${head}+dirty-src`
  } catch {
    return 'unknown'
  }
}

/** `# <command>` and `# commit …, Node …, N cores, <cpu>, <utc minute>Z`. */
export function benchHeader(command: string): string {
  return `# ${command}
# commit ${benchCommit()}, Node ${process.version}, ${cpus().length} cores, ${cpus()[0]?.model.trim()}, ${new Date().toISOString().slice(0, 16)}Z`
}

export const fmt = (value: number | null, digits = 1) =>
  value === null ? '—' : value.toFixed(digits)
export const kilo = (value: number) =>
  value >= 1e6
    ? `${(value / 1e6).toFixed(2)}M`
    : value >= 1e3
      ? `${(value / 1e3).toFixed(1)}k`
      : `${Math.round(value)}`

export const COLUMNS =
  'server     transport  subs   rate  ev/s/sub  deliv/s   p50 ms   p99 ms  p99.9 ms   max ms  lost  srvCPU%  srvCPU s/M  B/conn   B/ev  hns µs/ev  valid'

export function line(row: Row): string {
  return [
    row.server.padEnd(10),
    row.transport.padEnd(9),
    kilo(row.subscribers).padStart(5),
    (row.ratePerSec === null ? '—' : String(row.ratePerSec)).padStart(6),
    fmt(row.eventsPerSecPerSubscriber).padStart(9),
    kilo(row.deliveriesPerSec).padStart(8),
    fmt(row.p50Ms).padStart(8),
    fmt(row.p99Ms).padStart(8),
    fmt(row.p999Ms).padStart(9),
    fmt(row.maxMs).padStart(8),
    String(row.lost).padStart(5),
    fmt(row.serverCpuPercent, 0).padStart(8),
    fmt(row.serverCpuSecPerMillion, 2).padStart(11),
    (row.serverBytesPerConnection === null ? '—' : kilo(row.serverBytesPerConnection)).padStart(7),
    fmt(row.bytesPerEvent, 0).padStart(6),
    fmt(row.harnessCpuUsPerEvent, 2).padStart(10),
    `${row.valid ? 'yes' : 'NO'}${row.errors > 0 ? ` (${row.errors} errors)` : ''}${row.valid ? '' : ` ${row.invalidReasons.join('; ')}`}`.padStart(
      6,
    ),
  ].join(' ')
}

/** Writes `<path>.txt` (the header and the lines) and `<path>.json` (the header and the data). */
export function saveResult(
  path: string,
  header: string,
  lines: readonly string[],
  data: unknown,
): void {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(`${path}.txt`, `${header}\n${lines.join('\n')}\n`)
  writeFileSync(`${path}.json`, `${JSON.stringify({ header, data }, null, 1)}\n`)
}

/** A server that could not even take its subscribers: a result, not a crash of the bench. */
export function failedRow(base: Omit<StreamRun, 'target'>, server: string, reason: string): Row {
  return {
    workload: base.workload,
    server,
    transport: base.transport,
    subscribers: base.subscribers,
    connected: 0,
    ratePerSec: base.ratePerSec,
    measuredSec: 0,
    eventsPerSecPerSubscriber: 0,
    deliveriesPerSec: 0,
    p50Ms: 0,
    p99Ms: 0,
    p999Ms: 0,
    maxMs: 0,
    lost: 0,
    lossRatio: 0,
    errors: 0,
    serverCpuPercent: 0,
    serverCpuSecPerMillion: null,
    serverRssMiB: 0,
    serverBytesPerConnection: null,
    bytesPerEvent: null,
    harnessCpuUsPerEvent: null,
    connectP99Ms: 0,
    allConnectedSec: null,
    valid: false,
    invalidReasons: [reason],
  }
}
