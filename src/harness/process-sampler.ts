/**
 * What running costs, sampled once a second: a process's CPU and RSS from /proc (the embedded
 * server, or any pid we may read), this process's own CPU, and each worker's event-loop delay.
 */

import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { EventLoopDelaySummary } from '../report/measurements.js'

/** Fields of /proc/<pid>/stat we need: CPU time in clock ticks (utime + stime). */
export function parseProcStatCpuTicks(text: string): number {
  // The comm field (2) is in parentheses and may contain spaces and ')' itself; fields after
  // the LAST ')' are space-separated, starting at field 3 (state). utime is 14, stime is 15.
  const end = text.lastIndexOf(')')
  if (end < 0) throw new RangeError('not a /proc/<pid>/stat line')
  const fields = text
    .slice(end + 2)
    .trim()
    .split(/\s+/)
  const utime = Number(fields[14 - 3])
  const stime = Number(fields[15 - 3])
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new RangeError('not a /proc/<pid>/stat line')
  }
  return utime + stime
}

/** VmRSS of /proc/<pid>/status, in bytes (the file says kB, meaning KiB). */
export function parseProcStatusRssBytes(text: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(text)
  if (match === null) throw new RangeError('no VmRSS in /proc/<pid>/status')
  return Number(match[1]) * 1024
}

export interface ProcessSample {
  readonly atMs: number
  /** CPU used since the previous sample, as % of one core (200 = two cores busy). */
  readonly cpuPercent: number
  readonly rssBytes: number
}

export interface ProcessSummary {
  readonly samples: number
  readonly cpuPercentAvg: number
  readonly cpuPercentMax: number
  readonly rssBytesMax: number
  readonly rssBytesLast: number
  /** CPU time used between the first and the last sample, in µs. */
  readonly cpuUs: number
}

export interface ProcessSampler {
  readonly pid: number
  /** Reads /proc once; the first call only sets the baseline and returns null. */
  sample(nowMs: number): ProcessSample | null
  /** Samples every `intervalMs` on an unref'd timer until `stop`. */
  start(intervalMs?: number): void
  stop(): void
  readonly samples: readonly ProcessSample[]
  /** The CPU % samples since `fromMs` (to drop the warm-up). */
  summary(fromMs?: number): ProcessSummary
}

export interface ProcessSamplerOptions {
  /** USER_HZ, the unit of /proc CPU times: 100 on every mainstream Linux build (`getconf CLK_TCK`). */
  readonly clockTicksPerSec?: number
  /** Injected for tests; reads a /proc file as text. */
  readonly readText?: (path: string) => string
  /** Clock for `start`; defaults to Date.now. */
  readonly nowMs?: () => number
}

/**
 * Samples a process's CPU and RSS from /proc once a second: cheap (two small reads), and it works
 * for any pid we may read (our embedded server child, or the harness itself), which
 * `process.cpuUsage()` cannot.
 */
export function createProcessSampler(
  pid: number,
  options: ProcessSamplerOptions = {},
): ProcessSampler {
  const ticksPerSec = options.clockTicksPerSec ?? 100
  const readText = options.readText ?? ((path: string) => readFileSync(path, 'utf8'))
  const clock = options.nowMs ?? Date.now
  const samples: ProcessSample[] = []
  let last: { atMs: number; ticks: number } | null = null
  let firstTicks = 0
  let timer: NodeJS.Timeout | undefined

  function sample(nowMs: number): ProcessSample | null {
    const ticks = parseProcStatCpuTicks(readText(`/proc/${pid}/stat`))
    const rssBytes = parseProcStatusRssBytes(readText(`/proc/${pid}/status`))
    if (last === null) {
      last = { atMs: nowMs, ticks }
      firstTicks = ticks
      return null
    }
    const elapsedSec = (nowMs - last.atMs) / 1000
    const cpuPercent = elapsedSec > 0 ? ((ticks - last.ticks) / ticksPerSec / elapsedSec) * 100 : 0
    last = { atMs: nowMs, ticks }
    const result: ProcessSample = Object.freeze({ atMs: nowMs, cpuPercent, rssBytes })
    samples.push(result)
    return result
  }

  return {
    pid,
    sample,
    start(intervalMs = 1000): void {
      if (timer !== undefined) return
      sample(clock())
      timer = setInterval(() => {
        try {
          sample(clock())
        } catch {
          // The process has exited: its last samples stand.
          clearInterval(timer)
        }
      }, intervalMs)
      timer.unref()
    },
    stop(): void {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
    },
    get samples() {
      return samples
    },
    summary: (fromMs = Number.NEGATIVE_INFINITY): ProcessSummary =>
      summarizeSamples(
        samples,
        fromMs,
        last === null ? 0 : ((last.ticks - firstTicks) / ticksPerSec) * 1e6,
      ),
  }
}

export interface EventLoopMonitor {
  /** The delay distribution since start (or the last `reset`). */
  summary(): EventLoopDelaySummary
  reset(): void
  stop(): void
}

/**
 * The jHiccup idea: a timer that should fire every `resolutionMs` measures how late it fires, so
 * a saturated harness shows as delay. Each worker thread monitors its own loop.
 */
export function createEventLoopMonitor(
  options: { readonly resolutionMs?: number } = {},
): EventLoopMonitor {
  const histogram = monitorEventLoopDelay({ resolution: options.resolutionMs ?? 10 })
  histogram.enable()
  const nsToUs = (ns: number): number => (Number.isFinite(ns) ? Math.round(ns / 1000) : 0)
  return {
    summary(): EventLoopDelaySummary {
      if (histogram.count === 0) return { p50Us: 0, p99Us: 0, maxUs: 0, meanUs: 0 }
      return {
        p50Us: nsToUs(histogram.percentile(50)),
        p99Us: nsToUs(histogram.percentile(99)),
        maxUs: nsToUs(histogram.max),
        meanUs: nsToUs(histogram.mean),
      }
    },
    reset(): void {
      histogram.reset()
    },
    stop(): void {
      histogram.disable()
    },
  }
}

export interface HarnessCpu {
  /** % of one core, one per second. */
  readonly cpuPercentSamples: readonly number[]
  /** CPU time used from start to stop, in µs. */
  readonly cpuUs: number
  /** Cores the harness could use. */
  readonly cores: number
}

/** Harness CPU (all threads of this process), sampled once a second while measuring. */
export function startHarnessSampler(): { stop(): HarnessCpu } {
  const samples: number[] = []
  const start = process.cpuUsage()
  let last = start
  let lastMs = Date.now()
  const timer = setInterval(() => {
    const now = process.cpuUsage()
    const nowMs = Date.now()
    const usedUs = now.user - last.user + (now.system - last.system)
    samples.push((usedUs / 1000 / Math.max(1, nowMs - lastMs)) * 100)
    last = now
    lastMs = nowMs
  }, 1000)
  return {
    stop() {
      clearInterval(timer)
      const end = process.cpuUsage(start)
      return {
        cpuPercentSamples: samples,
        cpuUs: end.user + end.system,
        cores: availableParallelism(),
      }
    },
  }
}

/** A sampler's samples since `fromMs`, summed up; `cpuUs` is the CPU time it saw in all. */
export function summarizeSamples(
  samples: readonly ProcessSample[],
  fromMs: number,
  cpuUs: number,
): ProcessSummary {
  const picked = samples.filter((entry) => entry.atMs >= fromMs)
  const cpu = picked.map((entry) => entry.cpuPercent)
  const rss = picked.map((entry) => entry.rssBytes)
  return {
    samples: picked.length,
    cpuPercentAvg: cpu.length === 0 ? 0 : cpu.reduce((a, b) => a + b, 0) / cpu.length,
    cpuPercentMax: cpu.length === 0 ? 0 : Math.max(...cpu),
    rssBytesMax: rss.length === 0 ? 0 : Math.max(...rss),
    rssBytesLast: rss.at(-1) ?? 0,
    cpuUs,
  }
}
