/**
 * The live window on the coordinator: each pool's span (see LoadPool.live) decoded and added
 * into the window so far and into the last span, once a second; and the harness's own health
 * over that span. Histograms are added, never averaged (see report/measurements.ts).
 */

import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { Histogram } from 'hdr-histogram-js'
import {
  addCounters,
  decodeHistogram,
  emptyCounters,
  emptyHistogram,
} from '../report/measurements.js'
import type { PoolLive } from './load-pool.js'
import type { HarnessHealth, LiveWindow } from './run-context.js'

export interface LiveWindowAccumulator {
  /** The window begins now (session.reset): latency, recovery and counters start again. */
  begin(nowMs: number): void
  /** Adds the pools' spans (one per pool, all asked after the same moment) and reads the window. */
  add(spans: readonly PoolLive[], nowMs: number): LiveWindow
}

export function createLiveWindow(startMs: number): LiveWindowAccumulator {
  let measuring = false
  let windowStartMs = startMs
  let lastMs = startMs
  let latency = emptyHistogram()
  let recovery = emptyHistogram()
  // Kept across `begin`, as the result keeps the ramp's connects.
  let connectTime = emptyHistogram()
  let counters = emptyCounters()
  return {
    begin(nowMs) {
      measuring = true
      windowStartMs = nowMs
      lastMs = nowMs
      latency = emptyHistogram()
      recovery = emptyHistogram()
      counters = emptyCounters()
    },
    add(spans, nowMs) {
      // Each report gets histograms of its own (a copy a second is cheap): one a consumer keeps
      // stays what it was when reported.
      const lastLatency = emptyHistogram()
      const lastCounters = emptyCounters()
      latency = copyOf(latency)
      connectTime = copyOf(connectTime)
      recovery = copyOf(recovery)
      for (const span of spans) {
        lastLatency.add(decodeHistogram(span.latency))
        connectTime.add(decodeHistogram(span.connectTime))
        recovery.add(decodeHistogram(span.recovery))
        addCounters(lastCounters, span.counters)
      }
      latency.add(lastLatency)
      addCounters(counters, lastCounters)
      const lastSec = Math.max(0, nowMs - lastMs) / 1000
      lastMs = nowMs
      return Object.freeze({
        measuring,
        startMs: windowStartMs,
        sec: Math.max(0, nowMs - windowStartMs) / 1000,
        latencyUs: latency,
        connectTimeUs: connectTime,
        recoveryUs: recovery,
        counters: Object.freeze({ ...counters }),
        lastLatencyUs: lastLatency,
        lastCounters: Object.freeze(lastCounters),
        lastSec,
      })
    },
  }
}

function copyOf(histogram: Histogram): Histogram {
  const copy = emptyHistogram()
  copy.add(histogram)
  return copy
}

/**
 * The harness's health between two reads: this thread's event-loop delay (the pools' threads
 * report theirs with their spans) and the process's CPU over all threads. One per process: the
 * coordinator's loop is the same for every transport's session.
 */
export interface HarnessHealthMeter {
  read(poolDelaysP99Us: readonly number[], nowMs: number): HarnessHealth
}

let shared: HarnessHealthMeter | undefined

export function harnessHealthMeter(): HarnessHealthMeter {
  shared ??= createHarnessHealthMeter()
  return shared
}

function createHarnessHealthMeter(): HarnessHealthMeter {
  // 10 ms resolution, as the pools' monitors; its timer does not keep the process alive.
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  let lastCpu = process.cpuUsage()
  let lastMs = Date.now()
  return {
    read(poolDelaysP99Us, nowMs) {
      const cpu = process.cpuUsage()
      const usedUs = cpu.user - lastCpu.user + (cpu.system - lastCpu.system)
      const cpuPercent = (usedUs / 1000 / Math.max(1, nowMs - lastMs)) * 100
      lastCpu = cpu
      lastMs = nowMs
      const own = delay.count === 0 ? 0 : Math.round(delay.percentile(99) / 1000)
      delay.reset()
      return Object.freeze({
        eventLoopDelayP99Us: Math.max(own, ...poolDelaysP99Us),
        cpuPercent,
      })
    },
  }
}
