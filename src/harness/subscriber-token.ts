/**
 * A signed token per subscriber for a tickstorm target that requires one (`serve --auth-secret`):
 * HS256 (RFC 7519 / RFC 7515), with the subscriber's symbols as its `symbols` claim (`"*"` for
 * every symbol) and an expiry, which the server requires.
 *
 * Minted with node:crypto's HMAC, synchronously, rather than with jose (which the server verifies
 * with): a subscriber connects from synchronous code in its engine, jose signs only
 * asynchronously, and an HS256 JWS is one HMAC over two base64url parts. The server's own
 * verification (jose) is what the tests check these tokens against.
 */

import { createHmac } from 'node:crypto'

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')

export function mintSubscriberToken(
  secret: string,
  symbols: readonly string[] | null,
  ttlSec: number,
  nowSec = Math.floor(Date.now() / 1000),
): string {
  const claims = { symbols: symbols ?? '*', iat: nowSec, exp: nowSec + ttlSec }
  const body = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`
  const signature = createHmac('sha256', secret).update(body).digest('base64url')
  return `${body}.${signature}`
}

/** The request headers of a subscriber of `symbols`: the target's own, and its token if any. */
export function subscriberHeaders(
  headers: Readonly<Record<string, string>>,
  token: { readonly secret: string; readonly ttlSec: number } | null,
  symbols: readonly string[] | null,
): Record<string, string> {
  if (token === null) return { ...headers }
  return {
    ...headers,
    Authorization: `Bearer ${mintSubscriberToken(token.secret, symbols, token.ttlSec)}`,
  }
}
