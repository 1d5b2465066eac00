/**
 * Tick generation rate of the market simulator, one core.
 *
 * Method: per preset, a fresh market is driven through a fixed span of simulated time in 100 ms
 * steps (what the feed's pacing loop does), the output array emptied after each step as a
 * consumer would. The first span warms the JIT and is not counted; then five spans are timed and
 * the median is printed, per wall second and per CPU second of the process (GC threads included;
 * the steadier figure on a shared machine). The baseline, measured in the same run, allocates the same number of
 * quote-shaped objects into the same kind of array: the floor any generator pays.
 *
 *   npm run build && node dist/bench/micro/market.bench.js [preset ...]
 */

import { createMarket, PRESET_NAMES } from '../../src/market/market.js'
import type { PresetName, Tick } from '../../src/market/types.js'
import { median } from './median.js'

const STEP_US = 100_000
const ROUNDS = 5

function spanUsFor(preset: PresetName): number {
  return preset === 'stress' ? 10_000_000 : 60_000_000
}

function runSpan(advance: (untilUs: number, out: Tick[]) => void, fromUs: number, spanUs: number) {
  const out: Tick[] = []
  let ticks = 0
  const started = performance.now()
  const cpuStarted = process.cpuUsage()
  for (let t = fromUs + STEP_US; t <= fromUs + spanUs; t += STEP_US) {
    advance(t, out)
    ticks += out.length
    out.length = 0
  }
  const cpu = process.cpuUsage(cpuStarted)
  return {
    ticks,
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  }
}

function baselineRate(count: number): number {
  const out: object[] = []
  const started = performance.now()
  for (let i = 0; i < count; i++) {
    out.push({
      kind: 'quote',
      symbol: i & 511,
      seq: i,
      simTimeUs: i,
      bid: i,
      bidSize: 100,
      ask: i + 100,
      askSize: 200,
    })
    if (out.length === 4096) out.length = 0
  }
  return count / ((performance.now() - started) / 1000)
}

const requested = process.argv.slice(2)
const presets = (requested.length > 0 ? requested : ['normal', 'stress']) as PresetName[]
for (const preset of presets) {
  if (!PRESET_NAMES.includes(preset)) throw new Error(`unknown preset ${preset}`)
  const market = createMarket({ preset, seed: 1 })
  const spanUs = spanUsFor(preset)
  let t = market.startSimTimeUs
  const advance = (untilUs: number, out: Tick[]) => market.advanceTo(untilUs, out)
  runSpan(advance, t, spanUs)
  t += spanUs
  const rates: number[] = []
  const cpuRates: number[] = []
  let ticks = 0
  for (let round = 0; round < ROUNDS; round++) {
    const run = runSpan(advance, t, spanUs)
    t += spanUs
    ticks += run.ticks
    rates.push(run.ticks / run.seconds)
    cpuRates.push(run.ticks / run.cpuSeconds)
  }
  const baseline = baselineRate(Math.round(ticks / ROUNDS))
  const symbols = market.instruments.length
  console.log(
    `${preset.padEnd(12)} ${symbols} symbols  ${(median(rates) / 1e6).toFixed(2)} M ticks/s ` +
      `(min ${(Math.min(...rates) / 1e6).toFixed(2)}, max ${(Math.max(...rates) / 1e6).toFixed(2)}; ` +
      `${Math.round(ticks / ROUNDS / (spanUs / 1e6))} ticks per sim second)  ` +
      `${(median(cpuRates) / 1e6).toFixed(2)} M ticks per CPU second  ` +
      `baseline allocation ${(baseline / 1e6).toFixed(1)} M/s`,
  )
}
