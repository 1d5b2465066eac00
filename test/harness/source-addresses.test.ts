import { describe, expect, test } from 'vitest'
import { sourceAddresses } from '../../src/harness/target.js'

describe('source addresses', () => {
  test('large loopback runs spread over several 127.0.0.x sources; small or remote ones do not', () => {
    expect(sourceAddresses('http://127.0.0.1:8080', 5000)).toEqual([])
    expect(sourceAddresses('http://127.0.0.1:8080', 19_000)).toEqual([
      '127.0.0.1',
      '127.0.0.2',
      '127.0.0.3',
    ])
    expect(sourceAddresses('http://localhost:8080', 30_000)).toHaveLength(4)
    expect(sourceAddresses('http://10.0.0.5:8080', 30_000)).toEqual([])
  })
})
