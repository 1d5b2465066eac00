/**
 * Writing tapes for the tests: a temporary directory removed after each test, gzip and zstd
 * copies of a file (zstd by the `zstd` program, so the reader meets real compressed blocks), and
 * reading a whole tape into one list.
 */

import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterEach } from 'vitest'
import type { TapeEvent, TapeReader } from '../../../src/market/tapes/tape-event.js'

/** 09:30:00 in nanoseconds since midnight: where the test tapes' days begin. */
export const OPEN_NS = 34_200_000_000_000
/** 2024-03-28, New York on daylight time: its midnight is 04:00 UTC (DBN's epoch times). */
export const MIDNIGHT_NS = BigInt(Date.UTC(2024, 2, 28, 4)) * 1_000_000n
/** Dollars as DBN's i64 price in 1e-9 units. */
export const dollars = (d: number): bigint => BigInt(Math.round(d * 10_000)) * 100_000n

/** The tape time of a test's i-th record: the open plus i µs (ns since New York midnight). */
export const openPlus = (i: number): number => OPEN_NS + i * 1000

/** The quote a reader should produce for the i-th record (prices in $0.0001). */
export const quoteAt = (
  i: number,
  symbol: string,
  bid: number,
  bidSize: number,
  ask: number,
  askSize: number,
): TapeEvent => ({ kind: 'quote', symbol, tsNs: openPlus(i), bid, bidSize, ask, askSize })

const dirs: string[] = []

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

export function tapeDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tickstorm-tape-'))
  dirs.push(dir)
  return dir
}

export function writeTape(dir: string, name: string, bytes: Uint8Array | string): string {
  const path = join(dir, name)
  writeFileSync(path, bytes)
  return path
}

export function gzipCopy(path: string, to = `${path}.gz`): string {
  writeFileSync(to, gzipSync(readFileSync(path)))
  return to
}

export function zstdCopy(path: string, to = `${path}.zst`): string {
  execFileSync('zstd', ['-q', '-f', '-19', path, '-o', to])
  return to
}

/** Keeps the first `bytes` bytes of a file: a cut download. */
export function cutCopy(path: string, bytes: number, to: string): string {
  writeFileSync(to, readFileSync(path).subarray(0, bytes))
  return to
}

export interface ReadTape {
  readonly events: TapeEvent[]
  readonly batches: number
}

export async function readAll(reader: TapeReader): Promise<ReadTape> {
  const events: TapeEvent[] = []
  let batches = 0
  for await (const batch of reader) {
    batches++
    events.push(...batch)
  }
  return { events, batches }
}

/** The error a promise rejects with (the test fails if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise
  } catch (error) {
    return error as Error & { code?: string }
  }
  throw new Error('expected a rejection, the promise resolved')
}
