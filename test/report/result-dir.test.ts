import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { TickstormError } from '../../src/errors.js'
import { formatHlog, parseHlog, sumIntervals } from '../../src/report/hlog.js'
import { readResultDir } from '../../src/report/read-result.js'
import { resultDirName, writeResultDir } from '../../src/report/write-result.js'
import { fullRun, START_MS } from './fixtures.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tickstorm-result-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const PERCENTILES = [0, 25, 50, 90, 99, 99.9, 99.99, 100]

describe('HDR interval logs', () => {
  test('write → read gives identical histograms, interval by interval, with their times', () => {
    const { merged } = fullRun({ sse: 3 })
    const sse = merged[0]!
    const text = formatHlog(
      sse.intervals.map((i) => ({ startMs: i.startMs, endMs: i.endMs, histogram: i.latency })),
      { startTimeMs: START_MS, tag: 'sse', comment: 'test' },
    )
    expect(text.split('\n').slice(0, 2)).toEqual(['#test', '#[Histogram log format version 1.3]'])
    expect(text).toMatch(/^Tag=sse,0\.000,1\.000,30\.015,HISTF/m)
    const intervals = parseHlog(text)
    expect(intervals.map((i) => [i.startMs - START_MS, i.endMs - START_MS])).toEqual([
      [0, 1000],
      [1000, 2000],
      [2000, 3000],
    ])
    intervals.forEach((interval, k) => {
      const original = sse.intervals[k]!.latency
      expect(interval.histogram.totalCount).toBe(original.totalCount)
      expect(interval.histogram.tag).toBe('sse')
      for (const p of PERCENTILES) {
        expect(interval.histogram.getValueAtPercentile(p)).toBe(original.getValueAtPercentile(p))
      }
    })
    const total = sumIntervals(intervals)
    expect(total.totalCount).toBe(sse.latency.totalCount)
    expect(total.mean).toBe(sse.latency.mean)
    for (const p of PERCENTILES) {
      expect(total.getValueAtPercentile(p)).toBe(sse.latency.getValueAtPercentile(p))
    }
  })
})

describe('result directories', () => {
  test('are named by UTC stamp and scenario', () => {
    expect(resultDirName(new Date('2025-11-24T06:44:55.123Z'), 'capacity-sse')).toBe(
      '20251124T064455Z-capacity-sse',
    )
  })

  test('write result.json, an hlog per transport and report.html; read them back', async () => {
    const { result, hlogs, merged } = fullRun({ sse: 1, ws: 2 })
    const written = await writeResultDir(dir, result, hlogs)
    expect(written.hlogPaths).toEqual({ sse: join(dir, 'sse.hlog'), ws: join(dir, 'ws.hlog') })
    expect(await readFile(written.reportPath, 'utf8')).toMatch(/^<!doctype html>/)

    const loaded = await readResultDir(dir)
    expect(loaded.result).toEqual(result)
    for (const m of merged) {
      const histogram = loaded.histograms.get(m.transport)!
      expect(histogram.totalCount).toBe(m.latency.totalCount)
      for (const p of PERCENTILES) {
        expect(histogram.getValueAtPercentile(p)).toBe(m.latency.getValueAtPercentile(p))
      }
      expect(loaded.intervals.get(m.transport)).toHaveLength(3)
    }
  })

  test('refuse a newer result.json with a coded error', async () => {
    const { result, hlogs } = fullRun({ sse: 1 })
    await writeResultDir(dir, result, hlogs)
    await writeFile(join(dir, 'result.json'), JSON.stringify({ ...result, schemaVersion: 7 }))
    await expect(readResultDir(dir)).rejects.toMatchObject({
      code: 'TS_ERR_INVALID_RESULT',
      message: `${join(dir, 'result.json')} has schemaVersion 7, newer than this tickstorm reads (1, 2, 3, 4, 5 and 6)`,
    })
  })

  test('refuse a directory without a result, or with a missing log', async () => {
    await expect(readResultDir(dir)).rejects.toBeInstanceOf(TickstormError)
    await expect(readResultDir(dir)).rejects.toMatchObject({ code: 'TS_ERR_INVALID_RESULT' })
    const { result, hlogs } = fullRun({ sse: 1 })
    await writeResultDir(dir, result, hlogs)
    await rm(join(dir, 'sse.hlog'))
    await expect(readResultDir(dir)).rejects.toMatchObject({
      code: 'TS_ERR_INVALID_RESULT',
      message: `cannot read the HDR log ${join(dir, 'sse.hlog')}: no such file`,
    })
  })

  test('never write an invalid result', async () => {
    const { result, hlogs } = fullRun({ sse: 1 })
    await expect(writeResultDir(dir, { ...result, runId: '' }, hlogs)).rejects.toMatchObject({
      code: 'TS_ERR_INVALID_RESULT',
    })
  })
})
