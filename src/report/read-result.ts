/**
 * Loads a result directory back: `result.json` validated against the schema (a foreign or newer
 * file is refused with TS_ERR_INVALID_RESULT), and each transport's `.hlog` decoded into its
 * interval histograms and their sum, so `compare` works on full histograms, not on percentiles.
 */

import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Histogram } from 'hdr-histogram-js'
import { TickstormError } from '../errors.js'
import { describeFileError } from '../file-error.js'
import { type HlogInterval, parseHlog, sumIntervals } from './hlog.js'
import type { TransportName } from './measurements.js'
import { INVALID_RESULT, type RunResult, validateRunResult } from './result-schema.js'

export interface LoadedResult {
  readonly dir: string
  readonly result: RunResult
  readonly intervals: ReadonlyMap<TransportName, readonly HlogInterval[]>
  /** Per transport, the sum of its log's intervals: the measurement's full latency histogram. */
  readonly histograms: ReadonlyMap<TransportName, Histogram>
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (cause) {
    const why = describeFileError(cause)
    throw new TickstormError(INVALID_RESULT, `cannot read ${what} ${path}: ${why}`, {
      cause,
      details: { source: path, problems: [`cannot read ${path}: ${why}`] },
    })
  }
}

export async function readResultDir(dir: string): Promise<LoadedResult> {
  const resultPath = join(dir, 'result.json')
  const text = await readText(resultPath, 'the result file')
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (cause) {
    throw new TickstormError(INVALID_RESULT, `${resultPath} is not JSON`, {
      cause,
      details: { source: resultPath, problems: ['not JSON'] },
    })
  }
  const result = validateRunResult(json, resultPath)
  const intervals = new Map<TransportName, readonly HlogInterval[]>()
  const histograms = new Map<TransportName, Histogram>()
  for (const transport of result.transports) {
    const path = join(dir, `${transport.transport}.hlog`)
    let parsed: HlogInterval[]
    try {
      parsed = parseHlog(await readText(path, 'the HDR log'))
    } catch (cause) {
      if (cause instanceof TickstormError) throw cause
      throw new TickstormError(INVALID_RESULT, `${path} is not a valid HDR interval log`, {
        cause,
        details: { source: path, problems: ['not a valid HDR interval log'] },
      })
    }
    intervals.set(transport.transport, parsed)
    histograms.set(transport.transport, sumIntervals(parsed))
  }
  return { dir, result, intervals, histograms }
}
