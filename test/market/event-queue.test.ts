import { expect, test } from 'vitest'
import { createEventQueue } from '../../src/market/event-queue.js'

test('pops in time order, ties in insertion order', () => {
  const queue = createEventQueue<string>()
  const times = [50, 10, 30, 10, 70, 30, 10, 20]
  times.forEach((t, i) => {
    queue.push(t, `${t}:${i}`)
  })
  expect(queue.size).toBe(8)
  expect(queue.peekTimeUs()).toBe(10)
  const popped: string[] = []
  while (queue.size > 0) popped.push(queue.pop())
  expect(popped).toEqual(['10:1', '10:3', '10:6', '20:7', '30:2', '30:5', '50:0', '70:4'])
  expect(queue.peekTimeUs()).toBe(Number.POSITIVE_INFINITY)
  expect(() => queue.pop()).toThrow(RangeError)
})

test('keeps its order under interleaved pushes and pops', () => {
  const queue = createEventQueue<number>()
  const reference: number[] = []
  let x = 12345
  for (let i = 0; i < 5000; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    if (x % 3 !== 0 || reference.length === 0) {
      const t = x % 1000
      queue.push(t, t)
      reference.push(t)
      reference.sort((a, b) => a - b)
    } else {
      expect(queue.pop()).toBe(reference.shift())
    }
  }
})
