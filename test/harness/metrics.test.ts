import { decodeFromCompressedBase64 } from 'hdr-histogram-js'
import { afterEach, describe, expect, test } from 'vitest'
import {
  createProcessSampler,
  parseProcStatCpuTicks,
  parseProcStatusRssBytes,
} from '../../src/harness/process-sampler.js'
import { createSequenceTracker } from '../../src/harness/sequence-tracker.js'
import {
  createTransportMetrics,
  mergeWorkerReports,
  type TransportMetrics,
} from '../../src/harness/transport-metrics.js'
import { decodeHistogram } from '../../src/report/measurements.js'

const created: TransportMetrics[] = []
function metrics(...args: Parameters<typeof createTransportMetrics>): TransportMetrics {
  const m = createTransportMetrics(...args)
  created.push(m)
  return m
}
afterEach(() => {
  for (const m of created.splice(0)) m.destroy()
})

/** Deterministic latencies with a long tail: 200 µs .. ~200 ms. */
function latencies(count: number, seed = 12345): number[] {
  let state = seed
  const out: number[] = []
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0
    const u = state / 2 ** 32
    out.push(200 + Math.floor(u ** 6 * 200_000))
  }
  return out
}

const PERCENTILES = [0, 50, 90, 99, 99.9, 99.99, 100]

describe('transport metrics', () => {
  test('three workers merged equal one worker that recorded everything', () => {
    const values = latencies(30_000)
    const single = metrics('sse', { nowMs: 0 })
    const workers = [0, 1, 2].map((workerId) => metrics('sse', { nowMs: 0, workerId }))
    values.forEach((value, i) => {
      // Three one-second intervals; every event goes to exactly one worker.
      if (i > 0 && i % 10_000 === 0) {
        const nowMs = (i / 10_000) * 1000
        single.rollInterval(nowMs)
        for (const worker of workers) worker.rollInterval(nowMs)
      }
      const worker = workers[i % 3]!
      single.recordLatencyUs(value)
      single.addBytes(100)
      worker.recordLatencyUs(value)
      worker.addBytes(100)
      if (i % 1000 === 0) {
        single.countError('timeout')
        worker.countError('timeout')
      }
    })
    single.rollInterval(3000)
    for (const worker of workers) worker.rollInterval(3000)

    const one = mergeWorkerReports([single.toWorkerReport()])
    const three = mergeWorkerReports(workers.map((worker) => worker.toWorkerReport()))
    expect(three.workers).toBe(3)
    expect(three.latency.totalCount).toBe(30_000)
    expect(three.latency.mean).toBe(one.latency.mean)
    for (const p of PERCENTILES) {
      expect(three.latency.getValueAtPercentile(p)).toBe(one.latency.getValueAtPercentile(p))
    }
    expect(three.counters).toEqual(one.counters)
    expect(three.counters.deliveries).toBe(30_000)
    expect(three.counters.bytes).toBe(3_000_000)
    expect(three.errorsByKind).toEqual({ timeout: 30 })
    expect(three.intervals.map((i) => i.startMs)).toEqual([0, 1000, 2000])
    expect(three.intervals.map((i) => i.workers)).toEqual([3, 3, 3])
    three.intervals.forEach((interval, k) => {
      const reference = one.intervals[k]!
      expect(interval.latency.totalCount).toBe(10_000)
      expect(interval.counters.deliveries).toBe(10_000)
      for (const p of PERCENTILES) {
        expect(interval.latency.getValueAtPercentile(p)).toBe(
          reference.latency.getValueAtPercentile(p),
        )
      }
    })
  })

  test('the JS histogram records exactly what the WASM one does', () => {
    const values = latencies(5000, 99)
    const wasm = metrics('ws', { nowMs: 0 })
    const js = metrics('ws', { nowMs: 0, useWasm: false })
    for (const value of values) {
      wasm.recordLatencyUs(value)
      js.recordLatencyUs(value)
    }
    const a = decodeHistogram(wasm.toWorkerReport().latency)
    const b = decodeHistogram(js.toWorkerReport().latency)
    for (const p of PERCENTILES) expect(a.getValueAtPercentile(p)).toBe(b.getValueAtPercentile(p))
  })

  test('intervals from workers that roll a few ms apart align on the grid', () => {
    const a = metrics('sse', { nowMs: 10_000 })
    const b = metrics('sse', { nowMs: 10_004 })
    a.connectionOpened()
    b.connectionOpened()
    b.connectionOpened()
    a.recordLatencyUs(100)
    a.rollInterval(11_001)
    b.recordLatencyUs(200)
    b.recordLatencyUs(300)
    b.rollInterval(10_997)
    a.recordLatencyUs(400)
    a.countError('reset')
    a.rollInterval(12_000)
    b.recordLatencyUs(500)
    b.rollInterval(12_003)
    b.recordLatencyUs(600)
    b.rollInterval(13_002) // only b has a third interval

    const merged = mergeWorkerReports([a.toWorkerReport(), b.toWorkerReport()])
    expect(merged.intervals.map((i) => [i.startMs, i.workers, i.counters.deliveries])).toEqual([
      [10_000, 2, 3],
      [11_000, 2, 2],
      [12_003, 1, 1], // clipped to its only member's start
    ])
    expect(merged.intervals.map((i) => i.connections)).toEqual([3, 3, 2])
    // A short interval sharing a cell with its worker's next one is one reading of the gauge,
    // not two: connections never double.
    const c = metrics('sse', { nowMs: 20_000 })
    c.connectionOpened()
    c.rollInterval(20_100) // a sliver after a reset
    c.rollInterval(21_000)
    expect(mergeWorkerReports([c.toWorkerReport()]).intervals.map((i) => i.connections)).toEqual([
      1,
    ])
    expect(merged.intervals.map((i) => i.counters.errors)).toEqual([0, 1, 0])
    expect(merged.intervals[1]).toMatchObject({ startMs: 11_000, endMs: 12_000 })
    expect(merged.intervals[2]).toMatchObject({ startMs: 12_003, endMs: 13_000 })
    expect(merged.intervals[0]!.latency.maxValue).toBe(300)
    expect(merged.startMs).toBe(10_000)
    expect(merged.connections).toBe(3)
  })

  test('workers rolling out of phase keep one cell per full interval and lose nothing', () => {
    const a = metrics('sse', { nowMs: 0 })
    const b = metrics('sse', { nowMs: 0 }) // its timer ticks 400 ms after a's
    for (let k = 0; k < 3; k++) {
      for (let i = 0; i < 10; i++) a.recordLatencyUs(100)
      a.rollInterval((k + 1) * 1000)
    }
    for (const end of [400, 1400, 2400, 3000]) {
      for (let i = 0; i < 5; i++) b.recordLatencyUs(100)
      b.rollInterval(end)
    }
    const merged = mergeWorkerReports([a.toWorkerReport(), b.toWorkerReport()])
    // b's short first interval [0, 400) shares cell 0 with [400, 1400); its last, [2400, 3000), is cell 2.
    expect(
      merged.intervals.map((i) => [i.startMs, i.endMs, i.workers, i.counters.deliveries]),
    ).toEqual([
      [0, 1000, 3, 20],
      [1000, 2000, 2, 15],
      [2000, 3000, 2, 15],
    ])
    expect(merged.counters.deliveries).toBe(50)
  })

  test('a worker report survives structured cloning and base64 round-trips its histograms', () => {
    const m = metrics('longpoll', { nowMs: 0 })
    for (let us = 1; us <= 10_000; us++) m.recordLatencyUs(us)
    m.recordConnectUs(1500)
    m.recordConnectUs(2500)
    m.recordRecoveryUs(250_000)
    m.rollInterval(1000)
    m.recordLatencyUs(20_000) // still in the open interval: in the total, not in the intervals
    const report = structuredClone(m.toWorkerReport())
    const latency = decodeFromCompressedBase64(report.latency)
    expect(latency.totalCount).toBe(10_001)
    expect(latency.maxValue).toBe(20_015) // the top of 20,000's bucket [20,000, 20,015] at 3 digits
    expect(latency.getValueAtPercentile(50)).toBe(5003)
    expect(report.intervals).toHaveLength(1)
    expect(decodeHistogram(report.intervals[0]!.latency).totalCount).toBe(10_000)
    expect(decodeHistogram(report.connectTime).totalCount).toBe(2)
    expect(report.counters.connects).toBe(2)
    expect(decodeHistogram(report.recovery).getValueAtPercentile(100)).toBe(250_111)
  })

  test('negative latencies are counted, not recorded; too-large ones are clamped and counted', () => {
    const m = metrics('sse', { nowMs: 0, highestUs: 1_000_000 })
    m.recordLatencyUs(-5)
    m.recordLatencyUs(500)
    m.recordLatencyUs(5_000_000)
    const report = m.toWorkerReport()
    expect(report.counters.deliveries).toBe(3)
    expect(report.counters.negativeLatencies).toBe(1)
    expect(report.counters.clampedLatencies).toBe(1)
    const h = decodeHistogram(report.latency)
    expect(h.totalCount).toBe(2)
    expect(h.minNonZeroValue).toBe(500)
    expect(h.maxValue).toBe(1_000_447) // highestUs, at bucket resolution
  })

  test('reset forgets the warm-up but keeps the connection gauge', () => {
    const m = metrics('sse', { nowMs: 0 })
    m.connectionOpened()
    m.connectionOpened()
    m.recordLatencyUs(100)
    m.countError('x')
    m.rollInterval(1000)
    m.reset(5000)
    m.recordLatencyUs(200)
    m.connectionClosed()
    const interval = m.rollInterval(6000)
    expect(interval).toMatchObject({ startMs: 5000, endMs: 6000, connections: 1 })
    const report = m.toWorkerReport()
    expect(report.startMs).toBe(5000)
    expect(report.counters.deliveries).toBe(1)
    expect(report.counters.errors).toBe(0)
    expect(report.errorsByKind).toEqual({})
    expect(report.intervals).toHaveLength(1)
    expect(m.latencyPercentileUs(99)).toBe(200)
  })

  test('interval counters are deltas; totals keep counting', () => {
    const m = metrics('ws', { nowMs: 0 })
    m.addGap(3)
    m.countDuplicate()
    m.countReconnect()
    m.addRecoveredByReplay(7)
    m.countSnapshot(true)
    m.countSnapshot(false)
    const first = m.rollInterval(1000)
    m.addGap(2)
    m.countOutOfOrder()
    const second = m.rollInterval(2000)
    expect(first.counters).toMatchObject({
      gaps: 3,
      duplicates: 1,
      reconnects: 1,
      eventsRecoveredByReplay: 7,
      snapshots: 2,
      resets: 1,
    })
    expect(second.counters).toMatchObject({ gaps: 2, outOfOrder: 1, duplicates: 0, snapshots: 0 })
    expect(m.counters).toMatchObject({ gaps: 5, outOfOrder: 1, duplicates: 1 })
  })

  test('merging refuses reports of different transports', () => {
    const a = metrics('sse', { nowMs: 0 }).toWorkerReport()
    const b = metrics('ws', { nowMs: 0 }).toWorkerReport()
    expect(() => mergeWorkerReports([a, b])).toThrow(/differ in transport/)
    expect(() => mergeWorkerReports([])).toThrow(RangeError)
  })
})

describe('sequence tracker', () => {
  test('in order, gap, late fill, duplicate', () => {
    const tracker = createSequenceTracker()
    expect(tracker.observe(10)).toBe('ok') // the first one is always fine
    expect(tracker.observe(11)).toBe('ok')
    expect(tracker.observe(15)).toBe('gap')
    expect(tracker.gapSize).toBe(3)
    expect(tracker.observe(13)).toBe('out-of-order')
    expect(tracker.gapSize).toBe(0)
    expect(tracker.observe(13)).toBe('duplicate')
    expect(tracker.observe(15)).toBe('duplicate')
    expect(tracker.observe(11)).toBe('duplicate')
    expect(tracker.observe(16)).toBe('ok')
    expect(tracker.highest).toBe(16)
  })

  test('beyond the window an old number counts as a duplicate; a huge gap clears the window', () => {
    const tracker = createSequenceTracker({ windowSize: 64 })
    tracker.observe(1000)
    expect(tracker.observe(900)).toBe('duplicate')
    expect(tracker.observe(5000)).toBe('gap')
    expect(tracker.gapSize).toBe(3999)
    expect(tracker.observe(4990)).toBe('out-of-order')
    expect(tracker.observe(4990)).toBe('duplicate')
  })

  test('the window wraps without remembering stale bits', () => {
    const tracker = createSequenceTracker({ windowSize: 32 })
    for (let seq = 0; seq < 100; seq++) expect(tracker.observe(seq)).toBe('ok')
    expect(tracker.observe(102)).toBe('gap') // 100, 101 missing; their bits (= 4, 5 mod 32) were set by 68, 69
    expect(tracker.observe(100)).toBe('out-of-order')
    expect(tracker.observe(101)).toBe('out-of-order')
  })

  test('reset after a snapshot starts afresh', () => {
    const tracker = createSequenceTracker()
    tracker.observe(50)
    tracker.reset()
    expect(tracker.highest).toBe(-1)
    expect(tracker.observe(7)).toBe('ok')
    expect(tracker.observe(8)).toBe('ok')
  })
})

describe('process sampling', () => {
  const STAT =
    '4242 (node worker) 1) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0 100 0 0'

  test('parses CPU ticks after the last parenthesis and RSS in KiB', () => {
    expect(parseProcStatCpuTicks(STAT)).toBe(300)
    expect(parseProcStatusRssBytes('Name:\tnode\nVmPeak:\t  999 kB\nVmRSS:\t   12345 kB\n')).toBe(
      12_345 * 1024,
    )
    expect(() => parseProcStatusRssBytes('Name: x\n')).toThrow(/VmRSS/)
    expect(() => parseProcStatCpuTicks('garbage')).toThrow(RangeError)
  })

  test('CPU % per second from jiffy deltas, and a summary from a given time on', () => {
    let ticks = 1000
    let rssKb = 1000
    const sampler = createProcessSampler(4242, {
      clockTicksPerSec: 100,
      readText: (path) =>
        path.endsWith('/stat')
          ? `4242 (x) S ${'0 '.repeat(10)}${ticks} 0 0`
          : `VmRSS:\t${rssKb} kB\n`,
    })
    expect(sampler.sample(0)).toBeNull()
    ticks += 150 // 1.5 CPU-seconds in 1 s: 150%
    rssKb = 2000
    expect(sampler.sample(1000)).toEqual({ atMs: 1000, cpuPercent: 150, rssBytes: 2000 * 1024 })
    ticks += 25 // 0.25 CPU-seconds in 0.5 s: 50%
    rssKb = 1500
    expect(sampler.sample(1500)?.cpuPercent).toBe(50)
    expect(sampler.summary()).toEqual({
      samples: 2,
      cpuPercentAvg: 100,
      cpuPercentMax: 150,
      rssBytesMax: 2000 * 1024,
      rssBytesLast: 1500 * 1024,
      cpuUs: 1_750_000,
    })
    expect(sampler.summary(1200).samples).toBe(1)
  })

  test('reads this very process from /proc', () => {
    const sampler = createProcessSampler(process.pid)
    sampler.sample(0)
    const sample = sampler.sample(1000)
    expect(sample?.rssBytes).toBeGreaterThan(10 * 1024 * 1024)
    expect(sample?.cpuPercent).toBeGreaterThanOrEqual(0)
  })
})
