import { decodeProtectedHeader, jwtVerify } from 'jose'
import { describe, expect, test } from 'vitest'
import { mintSubscriberToken, subscriberHeaders } from '../../src/harness/subscriber-token.js'

/**
 * The harness's per-subscriber tokens, checked by jose (what the server verifies with): a valid
 * HS256 JWT over the secret, the subscriber's symbols (or `"*"`) as its claim, and an expiry
 * `ttlSec` after it was issued.
 */

const SECRET = 'a-test-secret-of-at-least-32-bytes-long'
const key = new TextEncoder().encode(SECRET)

describe('mintSubscriberToken', () => {
  test('jose verifies it against the secret: HS256, the symbols claim, exp − iat = ttl', async () => {
    const token = mintSubscriberToken(SECRET, ['AAPL', 'BRK.B'], 900)
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' })
    const { payload } = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      requiredClaims: ['exp', 'iat'],
    })
    expect(payload['symbols']).toEqual(['AAPL', 'BRK.B'])
    expect(payload.exp! - payload.iat!).toBe(900)
    const nowSec = Math.floor(Date.now() / 1000)
    expect(Math.abs(payload.iat! - nowSec)).toBeLessThanOrEqual(5)
  })

  test('a subscriber of every symbol (null) gets "*"', async () => {
    const { payload } = await jwtVerify(mintSubscriberToken(SECRET, null, 60), key)
    expect(payload['symbols']).toBe('*')
  })

  test('another secret does not verify it, and an expired one is refused', async () => {
    const token = mintSubscriberToken(SECRET, ['AAPL'], 60)
    const other = new TextEncoder().encode('another-secret-of-at-least-32-bytes-xx')
    await expect(jwtVerify(token, other)).rejects.toThrow(/signature verification failed/)
    const old = mintSubscriberToken(SECRET, ['AAPL'], 60, Math.floor(Date.now() / 1000) - 3600)
    await expect(jwtVerify(old, key)).rejects.toThrow(/"exp" claim timestamp check failed/)
  })

  test('subscriberHeaders: the target headers, plus a Bearer token when the target has one', async () => {
    expect(subscriberHeaders({ 'X-Run': 'r1' }, null, ['AAPL'])).toEqual({ 'X-Run': 'r1' })
    const headers = subscriberHeaders({ 'X-Run': 'r1' }, { secret: SECRET, ttlSec: 3600 }, ['MSFT'])
    expect(headers['X-Run']).toBe('r1')
    const bearer = /^Bearer (.+)$/.exec(headers['Authorization'] ?? '')
    expect(bearer).not.toBeNull()
    const { payload } = await jwtVerify(bearer![1]!, key)
    expect(payload['symbols']).toEqual(['MSFT'])
    expect(payload.exp! - payload.iat!).toBe(3600)
  })
})
