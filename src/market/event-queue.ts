/**
 * Scheduled events (bells, imbalance notices, halts, reopenings) in time order. Ties go to the
 * earlier insertion, so the order of simultaneous events is part of the model, not an accident
 * of the heap. A binary heap: LULD can hold hundreds of halted names in a crash.
 */

export interface EventQueue<T> {
  readonly size: number
  /** Time of the earliest event, or +Infinity when empty. */
  peekTimeUs(): number
  push(timeUs: number, item: T): void
  /** Removes and returns the earliest event; the queue must not be empty. */
  pop(): T
}

interface Entry<T> {
  readonly timeUs: number
  readonly order: number
  readonly item: T
}

export function createEventQueue<T>(): EventQueue<T> {
  const heap: Entry<T>[] = []
  let inserted = 0

  const before = (a: Entry<T>, b: Entry<T>): boolean =>
    a.timeUs < b.timeUs || (a.timeUs === b.timeUs && a.order < b.order)

  return {
    get size() {
      return heap.length
    },
    peekTimeUs: () => (heap.length === 0 ? Number.POSITIVE_INFINITY : heap[0]!.timeUs),
    push(timeUs, item) {
      const entry = { timeUs, order: inserted++, item }
      let i = heap.length
      heap.push(entry)
      while (i > 0) {
        const parent = (i - 1) >> 1
        if (!before(entry, heap[parent]!)) break
        heap[i] = heap[parent]!
        i = parent
      }
      heap[i] = entry
    },
    pop() {
      const top = heap[0]
      if (top === undefined) throw new RangeError('pop from an empty event queue')
      const last = heap.pop()!
      if (heap.length > 0) {
        let i = 0
        for (;;) {
          const left = 2 * i + 1
          if (left >= heap.length) break
          const right = left + 1
          const child = right < heap.length && before(heap[right]!, heap[left]!) ? right : left
          if (!before(heap[child]!, last)) break
          heap[i] = heap[child]!
          i = child
        }
        heap[i] = last
      }
      return top.item
    },
  }
}
