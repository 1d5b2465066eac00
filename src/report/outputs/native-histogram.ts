/**
 * An HDR histogram as exponential buckets: Prometheus' native histograms and OpenTelemetry's
 * exponential histograms share one bucket grid, so both outputs read the same conversion.
 *
 * The grid (Prometheus' native histogram schema `s`, OpenTelemetry's `scale`): every power of two
 * is cut into 2^s buckets whose bounds grow by 2^(2^-s). Prometheus' bucket `i` holds the values
 * in (2^((i-1)/2^s), 2^(i/2^s)]; upper bounds are inclusive, 1 is a bound, and OpenTelemetry's
 * bucket `i - 1` is the same bucket. Values ≤ the zero threshold are counted in the zero bucket.
 *
 * Schema 3 (8 buckets per doubling, each ≈ 9% wide) keeps a latency from 1 µs to a minute in
 * about 210 buckets, which is what Prometheus' own clients choose by default
 * (`NativeHistogramBucketFactor` 1.1 gives schema 3).
 *
 * Which HDR value a bucket gets: an HDR bucket is a range of equivalent values, and the HDR
 * histogram reports a percentile as its range's HIGHEST equivalent value, so every count of an HDR
 * bucket goes to the native bucket of that value. Each recorded value therefore lands in exactly
 * one native bucket and the counts add up to the HDR total. Below 2048 µs (3 significant digits)
 * an HDR bucket is one integer µs, so placement is exact; above, an HDR range is at most 1/1024 of
 * its value wide against the native bucket's 9%, and a range that straddles a native bound is
 * placed by its top, as HDR's percentiles are.
 */

import { type Histogram, JsHistogram } from 'hdr-histogram-js'
import { ERROR_CODES, TickstormError } from '../../errors.js'

/** The schema both outputs use: 8 buckets per power of two. */
export const NATIVE_SCHEMA = 3

/**
 * Prometheus' default zero threshold (2^-128): only values that are truly 0 fall in it, since
 * the smallest latency the harness tells apart from 0 is 1 µs.
 */
export const NATIVE_ZERO_THRESHOLD = 2 ** -128

/** One populated bucket: its index on the schema's grid (Prometheus' numbering) and its count. */
export interface ExponentialBucket {
  readonly index: number
  readonly count: number
}

/** A histogram on the exponential grid, in the output's unit (seconds for the times here). */
export interface ExponentialBuckets {
  readonly schema: number
  readonly zeroThreshold: number
  readonly zeroCount: number
  /** Every value recorded: zeroCount plus the buckets' counts. */
  readonly count: number
  /** HDR's mean × count, in the output's unit (HDR keeps no exact sum). */
  readonly sum: number
  /** Populated buckets only, ascending by index. */
  readonly buckets: readonly ExponentialBucket[]
  /** The smallest and largest values (HDR's equivalents), in the output's unit; 0 when empty. */
  readonly min: number
  readonly max: number
}

/** A run of consecutive buckets: `offset` from the previous span's end (the first: from 0). */
export interface BucketSpan {
  readonly offset: number
  readonly length: number
}

/**
 * The upper bounds of the 2^schema buckets of one power of two, as frexp fractions in [0.5, 1):
 * bound j is 2^(j/2^schema − 1). A value f × 2^e (frexp) lies in bucket j + (e − 1) × 2^schema for
 * the first bound j ≥ f. Comparing fractions instead of taking a logarithm is what Prometheus' Go
 * client does: no rounding can move a value that sits on a bound (a power of two) to the next one.
 */
function boundsOf(schema: number): Float64Array {
  const perOctave = 2 ** schema
  const bounds = new Float64Array(perOctave)
  for (let j = 0; j < perOctave; j++) bounds[j] = 2 ** (j / perOctave - 1)
  return bounds
}

const BOUNDS = new Map<number, Float64Array>()

function cachedBounds(schema: number): Float64Array {
  let bounds = BOUNDS.get(schema)
  if (bounds === undefined) {
    bounds = boundsOf(schema)
    BOUNDS.set(schema, bounds)
  }
  return bounds
}

const frexpView = new DataView(new ArrayBuffer(8))

/** C's frexp for a positive normal double: value = fraction × 2^exponent, fraction in [0.5, 1). */
function frexp(value: number): { fraction: number; exponent: number } {
  frexpView.setFloat64(0, value)
  const high = frexpView.getUint32(0)
  const exponent = ((high >>> 20) & 0x7ff) - 1022
  frexpView.setUint32(0, (high & 0x800fffff) | (1022 << 20))
  return { fraction: frexpView.getFloat64(0), exponent }
}

/**
 * The bucket of a positive value on the grid of `schema` (1 ≤ schema ≤ 8): the smallest i with
 * value ≤ 2^(i/2^schema). Powers of two are exact bounds (frexp gives them exactly).
 */
export function bucketIndexOf(value: number, schema: number = NATIVE_SCHEMA): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`bucketIndexOf: value must be positive and finite, got ${value}`)
  }
  if (!(Number.isInteger(schema) && schema >= 1 && schema <= 8)) {
    throw new RangeError(`bucketIndexOf: schema must be from 1 to 8, got ${schema}`)
  }
  const bounds = cachedBounds(schema)
  const { fraction, exponent } = frexp(value)
  // The first bound ≥ fraction (a sorted search over at most 256 entries).
  let low = 0
  let high = bounds.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (bounds[middle]! < fraction) low = middle + 1
    else high = middle
  }
  return low + (exponent - 1) * bounds.length
}

/** 2^k for every k an HDR value's bucket can take (values below 2^64). */
const POWERS_OF_TWO = Float64Array.from({ length: 64 }, (_, k) => 2 ** k)

/**
 * The upper bound of bucket `index` on the grid of `schema`: bounds[j] × 2^e, the same double
 * bucketIndexOf compares against (a product by a power of two is exact), so `value ≤ upper`
 * agrees with it exactly.
 */
function upperBoundOf(index: number, schema: number): number {
  const bounds = cachedBounds(schema)
  const perOctave = bounds.length
  const j = ((index % perOctave) + perOctave) % perOctave
  return bounds[j]! * 2 ** ((index - j) / perOctave + 1)
}

/**
 * The HDR histogram's counts on the exponential grid, each HDR value multiplied by `unit`
 * (1e-6 turns µs into seconds). Reads the histogram, never changes it.
 *
 * Runs once a second per transport on the harness's coordinator, so it walks the counts once and
 * computes the sum itself: hdr-histogram-js's `mean` walks them with an iterator object per value
 * (≈ 20 ms for a histogram of 10,000 distinct values, against ≈ 2 ms for this loop), and a
 * bucket's index is searched only when a value passes the current bucket's upper bound (the
 * counts are in ascending value order).
 */
export function exponentialBucketsOf(
  histogram: Histogram,
  unit: number,
  schema: number = NATIVE_SCHEMA,
): ExponentialBuckets {
  if (!(histogram instanceof JsHistogram)) {
    throw new TickstormError(
      ERROR_CODES.INVALID_OPTIONS,
      'exponential buckets need a JS HDR histogram (the harness builds and decodes only those)',
    )
  }
  const buckets: ExponentialBucket[] = []
  let zeroCount = 0
  let count = 0
  // HDR's own mean: each count at its range's median equivalent value.
  let sumOfMedians = 0
  let bucketIndex = 0
  let bucketCount = 0
  let bucketUpper = Number.NEGATIVE_INFINITY
  // valueFromIndex without its Math.pow per call (it dominated this loop): HDR's counts index is
  // (bucket + 1) × half + sub-bucket, the first bucket's lower half at the start.
  const half = histogram.subBucketHalfCount
  const unitMagnitude = histogram.unitMagnitude
  const valueAt = (index: number): number => {
    let bucket = Math.floor(index / half) - 1
    let subBucket = (index % half) + half
    if (bucket < 0) {
      subBucket -= half
      bucket = 0
    }
    return subBucket * POWERS_OF_TWO[bucket + unitMagnitude]!
  }
  const length = histogram.countsArrayLength
  for (let index = 0; index < length; index++) {
    const n = histogram.getCountAtIndex(index)
    if (n === 0) continue
    count += n
    // An index's range runs from its value to the next index's, less one: HDR's lowest, median
    // and highest equivalent values without their per-call bucket arithmetic.
    const lowest = valueAt(index)
    const next = valueAt(index + 1)
    sumOfMedians += n * (lowest + Math.floor((next - lowest) / 2))
    const value = (next - 1) * unit
    if (value <= NATIVE_ZERO_THRESHOLD) {
      zeroCount += n
      continue
    }
    if (value > bucketUpper) {
      if (bucketCount > 0) buckets.push(Object.freeze({ index: bucketIndex, count: bucketCount }))
      bucketIndex = bucketIndexOf(value, schema)
      bucketUpper = upperBoundOf(bucketIndex, schema)
      bucketCount = 0
    }
    bucketCount += n
  }
  if (bucketCount > 0) buckets.push(Object.freeze({ index: bucketIndex, count: bucketCount }))
  const empty = count === 0
  return Object.freeze({
    schema,
    zeroThreshold: NATIVE_ZERO_THRESHOLD,
    zeroCount,
    count,
    sum: sumOfMedians * unit,
    buckets: Object.freeze(buckets),
    min: empty || zeroCount > 0 ? 0 : histogram.minNonZeroValue * unit,
    max: empty ? 0 : histogram.highestEquivalentValue(histogram.maxValue) * unit,
  })
}

/**
 * Prometheus' sparse form of the buckets: spans of consecutive indexes (a gap starts a new span,
 * its offset the number of empty buckets skipped; the first span's offset is its start index) and
 * each count as the difference from the previous bucket's (the first from 0), which protobuf's
 * zig-zag varints keep small.
 */
export function spansAndDeltasOf(buckets: readonly ExponentialBucket[]): {
  spans: BucketSpan[]
  deltas: number[]
} {
  const spans: { offset: number; length: number }[] = []
  const deltas: number[] = []
  let previousIndex: number | null = null
  let previousCount = 0
  for (const { index, count } of buckets) {
    if (previousIndex !== null && index === previousIndex + 1) {
      spans[spans.length - 1]!.length++
    } else {
      spans.push({ offset: previousIndex === null ? index : index - previousIndex - 1, length: 1 })
    }
    deltas.push(count - previousCount)
    previousIndex = index
    previousCount = count
  }
  return { spans, deltas }
}

/**
 * OpenTelemetry's dense form: its bucket `i` is Prometheus' `i + 1` (OpenTelemetry's holds
 * (base^i, base^(i+1)]), so the offset is the first index − 1 and the counts run to the last.
 */
export function denseBucketsOf(buckets: readonly ExponentialBucket[]): {
  offset: number
  bucketCounts: number[]
} {
  const first = buckets[0]
  if (first === undefined) return { offset: 0, bucketCounts: [] }
  const last = buckets[buckets.length - 1]!
  const bucketCounts = new Array<number>(last.index - first.index + 1).fill(0)
  for (const { index, count } of buckets) bucketCounts[index - first.index] = count
  return { offset: first.index - 1, bucketCounts }
}
