/**
 * The whole machine's CPU from /proc/stat, because this box is shared: a build or a test run of
 * someone else's takes cores from the server and the harness alike, and a row measured then says
 * more about them than about the server. Before a row the bench waits for the box to go quiet;
 * during it, it reads how busy the box was, so what the server and the harness did not use is
 * known (`otherCores` in a row).
 */

import { readFileSync } from 'node:fs'

/** Jiffies since boot: all of them and the busy ones (everything but idle and iowait). */
export interface CpuReading {
  readonly atMs: number
  readonly busy: number
  readonly total: number
}

export function readBoxCpu(): CpuReading {
  const first = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? ''
  const fields = first.trim().split(/\s+/).slice(1).map(Number)
  const total = fields.reduce((sum, value) => sum + value, 0)
  // user nice system idle iowait irq softirq steal …: idle and iowait are not work.
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
  return { atMs: Date.now(), busy: total - idle, total }
}

/** Cores busy on average between two readings (0 … the machine's cores). */
export function busyCores(from: CpuReading, to: CpuReading, cores: number): number {
  const total = to.total - from.total
  return total <= 0 ? 0 : ((to.busy - from.busy) / total) * cores
}

/**
 * Waits until the box is quiet: a one-second reading below `maxBusyCores` (this process is idle
 * between rows, so what it sees is someone else's), for at most `maxWaitMs`. Says how long it
 * waited and how busy the box was at the last reading.
 */
export async function waitForQuietBox(
  cores: number,
  maxBusyCores: number,
  maxWaitMs: number,
  signal?: AbortSignal,
): Promise<{ waitedMs: number; busyCores: number }> {
  const startMs = Date.now()
  for (;;) {
    const before = readBoxCpu()
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const busy = busyCores(before, readBoxCpu(), cores)
    const waitedMs = Date.now() - startMs
    if (busy < maxBusyCores || waitedMs >= maxWaitMs || signal?.aborted)
      return { waitedMs, busyCores: busy }
  }
}
