/**
 * Gaps, duplicates and late arrivals, told apart from sequence numbers (never guessed): one
 * tracker per contiguous sequence a subscriber receives.
 */

export type SequenceObservation = 'ok' | 'gap' | 'duplicate' | 'out-of-order'

export interface SequenceTracker {
  /**
   * Classifies the next sequence number of one contiguous sequence (the per-symbol `q` on a
   * filtered stream, or the global `id` on an unfiltered one: global ids skip on a filtered
   * stream, so a gap in them means nothing there).
   * - `ok`: the next one, or the first one seen (after creation or `reset`);
   * - `gap`: ahead of the next one; `gapSize` events were skipped;
   * - `out-of-order`: behind the highest, and never seen: a late fill of an earlier gap;
   * - `duplicate`: seen before, or too far behind to know (older than the window): a replay
   *   seam that resent events is far likelier than an event delayed by `windowSize` others.
   */
  observe(seq: number): SequenceObservation
  /** Events skipped by the last `gap` observation (0 otherwise). */
  readonly gapSize: number
  /** Highest sequence seen, or -1. */
  readonly highest: number
  /** Forget the history: after a snapshot (`reset: true`) the next sequence starts afresh. */
  reset(): void
}

/**
 * A sliding bitmap of the last `windowSize` sequence numbers below the highest (1 = seen), so
 * late arrivals can be told from duplicates without a set per subscriber. 1024 bits = 128 bytes.
 */
export function createSequenceTracker(
  options: { readonly windowSize?: number } = {},
): SequenceTracker {
  return new BitmapSequenceTracker(Math.max(32, Math.ceil((options.windowSize ?? 1024) / 32) * 32))
}

/**
 * A class, not closures: the harness keeps one per symbol per subscriber (200k at 10k × 20), and
 * it is touched on every event. Closures cost each tracker a context and a function object per
 * method, and the event path a chase through them; this is one object and its bitmap.
 */
class BitmapSequenceTracker implements SequenceTracker {
  highest = -1
  gapSize = 0
  private readonly windowSize: number
  private readonly seen: Uint32Array

  constructor(windowSize: number) {
    this.windowSize = windowSize
    this.seen = new Uint32Array(windowSize / 32)
  }

  // Bit for seq s lives at s mod windowSize; valid for highest − windowSize < s ≤ highest.
  private isSeen(seq: number): boolean {
    const bit = seq % this.windowSize
    return ((this.seen[bit >>> 5] ?? 0) & (1 << (bit & 31))) !== 0
  }

  private mark(seq: number): void {
    const bit = seq % this.windowSize
    this.seen[bit >>> 5] = (this.seen[bit >>> 5] ?? 0) | (1 << (bit & 31))
  }

  private clear(seq: number): void {
    const bit = seq % this.windowSize
    this.seen[bit >>> 5] = (this.seen[bit >>> 5] ?? 0) & ~(1 << (bit & 31))
  }

  observe(seq: number): SequenceObservation {
    this.gapSize = 0
    const highest = this.highest
    if (highest < 0) {
      this.seen.fill(0)
      this.highest = seq
      this.mark(seq)
      return 'ok'
    }
    if (seq > highest) {
      const skipped = seq - highest - 1
      // Clear the bits of the skipped numbers (at most a window's worth) before moving on.
      if (skipped >= this.windowSize) this.seen.fill(0)
      else for (let s = highest + 1; s < seq; s++) this.clear(s)
      this.highest = seq
      this.mark(seq)
      if (skipped === 0) return 'ok'
      this.gapSize = skipped
      return 'gap'
    }
    if (seq <= highest - this.windowSize) return 'duplicate'
    if (this.isSeen(seq)) return 'duplicate'
    this.mark(seq)
    return 'out-of-order'
  }

  reset(): void {
    this.highest = -1
    this.gapSize = 0
  }
}
