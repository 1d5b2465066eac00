/**
 * A percentile-bootstrap confidence interval for the change between two sets of runs: how far
 * the candidate's mean figure is from the baseline's, with the noise taken from how much the
 * runs of each set differ among themselves rather than from a fixed ±5 %.
 *
 * Method (Efron & Tibshirani, "An Introduction to the Bootstrap", ch. 13): resample each set's
 * runs with replacement, each set within itself and to its own size; take the statistic
 * (candidate mean − baseline mean, and that over the baseline mean) of every resample; the
 * interval is the α/2 and 1 − α/2 quantiles of those statistics. No library fits (none is
 * seeded and small), and the method is a loop: it is written out here, with a seeded generator
 * so the same runs always print the same interval.
 *
 * What it costs: with few runs per set the percentile interval is too narrow (a set of 2 has
 * only 3 distinct resampled means), so it calls changes more readily than it should. Below
 * MIN_RUNS_FOR_CONFIDENCE runs callers do not bootstrap at all: they say so and judge the means
 * against a fixed noise band, as for two single runs.
 */

/**
 * Fewer runs than this in a set and its interval says nothing: a set of 2 has 3 distinct
 * resampled means, a set of 1 none at all. Even at 3 to 5 the interval is on the narrow side.
 */
export const MIN_RUNS_FOR_CONFIDENCE = 3

export const DEFAULT_BOOTSTRAP = Object.freeze({ resamples: 10_000, confidence: 0.95, seed: 1 })

export interface BootstrapOptions {
  /** Resamples drawn (default 10,000). */
  readonly resamples?: number
  /** The interval's coverage, in (0, 1) (default 0.95). */
  readonly confidence?: number
  /** The generator's seed (default 1): the same seed and runs always give the same interval. */
  readonly seed?: number
}

export interface MeanChangeInterval {
  readonly baselineMean: number
  readonly candidateMean: number
  /** candidateMean − baselineMean. */
  readonly delta: number
  readonly deltaLow: number
  readonly deltaHigh: number
  /** delta / baselineMean; null when the baseline's mean is 0. */
  readonly relative: number | null
  /** Null when some resample of the baseline has a mean of 0 (the ratio is undefined there). */
  readonly relativeLow: number | null
  readonly relativeHigh: number | null
  readonly confidence: number
  readonly resamples: number
  readonly seed: number
}

/**
 * mulberry32 (Tommy Ettinger's 32-bit generator): uniform in [0, 1). Plenty for choosing among at
 * most a hundred runs; it needs no dependency and gives the same draws on every engine.
 */
export function seededUniform(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** The q-quantile (0..1) of sorted values, interpolating between neighbours (Hyndman–Fan 7). */
export function quantileOfSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length
  if (n === 0) return Number.NaN
  const at = q * (n - 1)
  const below = Math.floor(at)
  const above = Math.min(n - 1, below + 1)
  const lower = sorted[below] as number
  return lower + (at - below) * ((sorted[above] as number) - lower)
}

function mean(values: readonly number[]): number {
  let sum = 0
  for (const value of values) sum += value
  return sum / values.length
}

function resampledMean(values: readonly number[], uniform: () => number): number {
  const n = values.length
  let sum = 0
  for (let i = 0; i < n; i++) sum += values[Math.floor(uniform() * n)] as number
  return sum / n
}

function checked(options: BootstrapOptions): Required<BootstrapOptions> {
  const resolved = { ...DEFAULT_BOOTSTRAP, ...options }
  if (!Number.isInteger(resolved.resamples) || resolved.resamples < 100) {
    throw new RangeError(`resamples must be an integer ≥ 100, got ${resolved.resamples}`)
  }
  if (!(resolved.confidence > 0 && resolved.confidence < 1)) {
    throw new RangeError(`confidence must be in (0, 1), got ${resolved.confidence}`)
  }
  return resolved
}

/**
 * The interval of the change of the mean from `baseline` to `candidate` (each a figure per run,
 * at least one run each), by the percentile bootstrap.
 */
export function bootstrapMeanChange(
  baseline: readonly number[],
  candidate: readonly number[],
  options: BootstrapOptions = {},
): MeanChangeInterval {
  if (baseline.length === 0 || candidate.length === 0) {
    throw new RangeError('each set needs at least one value')
  }
  const { resamples, confidence, seed } = checked(options)
  const uniform = seededUniform(seed)
  const deltas = new Float64Array(resamples)
  const relatives = new Float64Array(resamples)
  let relativeDefined = true
  for (let r = 0; r < resamples; r++) {
    const base = resampledMean(baseline, uniform)
    const cand = resampledMean(candidate, uniform)
    deltas[r] = cand - base
    if (base === 0) relativeDefined = false
    else relatives[r] = (cand - base) / base
  }
  deltas.sort()
  relatives.sort()
  const alpha = 1 - confidence
  const baselineMean = mean(baseline)
  const candidateMean = mean(candidate)
  const delta = candidateMean - baselineMean
  return {
    baselineMean,
    candidateMean,
    delta,
    deltaLow: quantileOfSorted(deltas, alpha / 2),
    deltaHigh: quantileOfSorted(deltas, 1 - alpha / 2),
    relative: baselineMean === 0 ? null : delta / baselineMean,
    relativeLow: relativeDefined ? quantileOfSorted(relatives, alpha / 2) : null,
    relativeHigh: relativeDefined ? quantileOfSorted(relatives, 1 - alpha / 2) : null,
    confidence,
    resamples,
    seed,
  }
}

/**
 * Which side of zero the interval lies on: 1 all above, −1 all below, 0 when it holds zero (no
 * change shown). The delta's interval decides, as it is defined even when the baseline is 0; its
 * sign is the relative change's wherever that is defined.
 */
export function intervalSide(interval: MeanChangeInterval): -1 | 0 | 1 {
  if (interval.deltaLow > 0) return 1
  if (interval.deltaHigh < 0) return -1
  return 0
}
