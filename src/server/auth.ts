import { createPublicKey } from 'node:crypto'
import {
  type CryptoKey,
  errors,
  importSPKI,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose'
import { ERROR_CODES, TickstormError } from '../errors.js'
import type { Subscription, SymbolIndex } from './subscription.js'

/** Where a token may come from, in this order (EventSource cannot set headers: hence the last). */
export const TOKEN_COOKIE = 'tickstorm_token'
export const TOKEN_QUERY = 'access_token'

/** Longer tokens are refused unread: a bound on what one request makes the server parse. */
export const MAX_TOKEN_CHARS = 8192

/** What a verified token allows. */
export interface Grant {
  /** Membership by instrument index (1 = allowed), or null for every symbol. */
  readonly mask: Uint8Array | null
}

/** The grant of every request when the server has no key configured. */
export const OPEN_GRANT: Grant = Object.freeze({ mask: null })

export interface AuthOptions {
  readonly authSecret: string | undefined
  readonly authPublicKey: string | undefined
}

export interface Authenticator {
  /**
   * The token's grant, or a rejection with `TS_ERR_UNAUTHORIZED` whose message and details are
   * fixed texts: never the token, nor a library message that might quote its decoded parts.
   */
  verify(token: string | null): Promise<Grant>
}

/** Why a request got 401 (`details.reason`): the client's next step differs for each. */
export type UnauthorizedReason =
  | 'missing'
  | 'malformed'
  | 'expired'
  | 'signature'
  | 'algorithm'
  | 'claims'

const MIN_SECRET_BYTES = 32

/**
 * The problem with a configured HS256 secret, or null. RFC 7518 §3.2: the key must be at least as
 * long as the hash output, 256 bits; a shorter one can be brute-forced from one token.
 */
export function authSecretProblem(secret: unknown): string | null {
  if (typeof secret !== 'string') return 'must be a string'
  if (Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES) {
    return `must be at least ${MIN_SECRET_BYTES} bytes (RFC 7518 §3.2)`
  }
  return null
}

/** How a secret or key appears in a problem: its size, never its text. */
export function describeSecret(value: unknown): string {
  return typeof value === 'string' ? `${Buffer.byteLength(value, 'utf8')} bytes` : typeof value
}

/**
 * The JWS algorithm a PEM public key verifies: RS256 for RSA of at least 2048 bits, ES256 for
 * P-256. Anything else, a private key included (it would put signing power on the edge), is a
 * problem. Problems describe the key, never quote it.
 */
export function publicKeyAlgorithm(pem: unknown): { alg: 'RS256' | 'ES256' } | { problem: string } {
  if (typeof pem !== 'string') return { problem: 'must be a PEM string' }
  if (pem.includes('PRIVATE KEY')) {
    return { problem: 'is a private key: give the public key (-----BEGIN PUBLIC KEY-----)' }
  }
  if (!pem.includes('-----BEGIN PUBLIC KEY-----')) {
    return { problem: 'must be a PEM SPKI public key (-----BEGIN PUBLIC KEY-----)' }
  }
  let key: ReturnType<typeof createPublicKey>
  try {
    key = createPublicKey(pem)
  } catch {
    return { problem: 'is not a readable PEM public key' }
  }
  const details = key.asymmetricKeyDetails ?? {}
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details.modulusLength ?? 0
    return bits >= 2048
      ? { alg: 'RS256' }
      : { problem: `is a ${bits}-bit RSA key; RS256 needs at least 2048 bits` }
  }
  if (key.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1') return { alg: 'ES256' }
  return {
    problem: `is a ${key.asymmetricKeyType ?? 'unknown'} key; use RSA (RS256) or EC P-256 (ES256)`,
  }
}

/**
 * Verifies tokens with jose against the configured keys, or returns null when none is configured
 * (everything stays open). Each key admits exactly its own algorithm, so an HS256 token can never
 * be checked against the public key's bytes (algorithm confusion). `exp` is required: a stolen
 * token must stop working by itself.
 *
 * Claims: `symbols` is `"*"` or an array of symbol names (case-insensitive; names outside this
 * server's universe are ignored, so one token can serve servers with different universes).
 */
export async function createAuthenticator(
  options: AuthOptions,
  index: SymbolIndex,
): Promise<Authenticator | null> {
  const keys = new Map<string, CryptoKey>()
  if (options.authSecret !== undefined) {
    const secret = new TextEncoder().encode(options.authSecret)
    // Imported once: jose would otherwise import raw bytes on every verification.
    const key = await crypto.subtle.importKey(
      'raw',
      secret,
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['verify'],
    )
    keys.set('HS256', key)
  }
  if (options.authPublicKey !== undefined) {
    const algorithm = publicKeyAlgorithm(options.authPublicKey)
    if (!('alg' in algorithm)) {
      throw new TickstormError(ERROR_CODES.INVALID_OPTIONS, `authPublicKey ${algorithm.problem}`)
    }
    keys.set(algorithm.alg, await importSPKI(options.authPublicKey, algorithm.alg))
  }
  if (keys.size === 0) return null
  const algorithms = [...keys.keys()]
  const verifyOptions = { algorithms, requiredClaims: ['exp'] }
  // jose checks `alg` against `algorithms` before asking for the key, so the lookup always finds one.
  const keyFor: JWTVerifyGetKey = (header) => keys.get(header.alg ?? '')!

  return {
    async verify(token) {
      if (token === null) {
        throw unauthorized(
          'missing',
          `a token is required: send "Authorization: Bearer <token>", the ${TOKEN_COOKIE} cookie, or ${TOKEN_QUERY}=<token>`,
        )
      }
      if (token.length > MAX_TOKEN_CHARS) {
        throw unauthorized('malformed', `the token is longer than ${MAX_TOKEN_CHARS} characters`)
      }
      let payload: JWTPayload
      try {
        ;({ payload } = await jwtVerify(token, keyFor, verifyOptions))
      } catch (error) {
        throw fromJose(error, algorithms)
      }
      return grantOf(payload['symbols'], index)
    },
  }
}

function grantOf(claim: unknown, index: SymbolIndex): Grant {
  if (claim === '*') return OPEN_GRANT
  if (!Array.isArray(claim) || claim.some((name) => typeof name !== 'string')) {
    throw unauthorized(
      'claims',
      'the token\'s "symbols" claim must be "*" or an array of symbol names',
    )
  }
  const mask = new Uint8Array(index.names.length)
  let allowed = 0
  for (const name of claim as string[]) {
    const symbol = index.byName.get(name.trim().toUpperCase())
    if (symbol !== undefined && mask[symbol] === 0) {
      mask[symbol] = 1
      allowed++
    }
  }
  // A list naming the whole universe is "*": an every-symbol subscription must pass it.
  return allowed === index.names.length ? OPEN_GRANT : { mask }
}

/**
 * Checks a subscription against a grant: every symbol it names must be allowed, and "every
 * symbol" needs a `"*"` grant. Throws `TS_ERR_FORBIDDEN` naming the refused symbols (the client
 * asked for them; the token is not quoted).
 */
export function authorizeSubscription(
  grant: Grant,
  subscription: Subscription,
  index: SymbolIndex,
): void {
  const mask = grant.mask
  if (mask === null) return
  if (subscription.symbols === null) {
    throw new TickstormError(
      ERROR_CODES.FORBIDDEN,
      'the token allows only some symbols: name them (every symbol needs "symbols": "*")',
      { details: { forbidden: '*' } },
    )
  }
  const forbidden = subscription.symbols
    .filter((symbol) => mask[symbol] !== 1)
    .map((symbol) => index.names[symbol]!)
  if (forbidden.length > 0) {
    const shown = forbidden.slice(0, 20).join(', ')
    throw new TickstormError(
      ERROR_CODES.FORBIDDEN,
      `the token does not allow ${shown}${forbidden.length > 20 ? ', …' : ''}`,
      { details: { forbidden: forbidden.slice(0, 100) } },
    )
  }
}

/**
 * The request's token: `Authorization: Bearer`, else the cookie (only from a trusted origin: see
 * CorsDecision.trusted), else the query parameter. Arguments are raw header values ('' absent).
 */
export function tokenOf(
  authorization: string,
  cookie: string,
  cookieTrusted: boolean,
  query: string | null | undefined,
): string | null {
  if (authorization.length > 7 && authorization.slice(0, 7).toLowerCase() === 'bearer ') {
    const token = authorization.slice(7).trim()
    if (token !== '') return token
  }
  if (cookieTrusted && cookie !== '') {
    const token = cookieValue(cookie, TOKEN_COOKIE)
    if (token !== null && token !== '') return token
  }
  return query === undefined || query === null || query === '' ? null : query
}

/** One cookie's value from a `Cookie` header (RFC 6265 §5.4: `name=value` pairs split by `;`). */
function cookieValue(header: string, name: string): string | null {
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq !== -1 && pair.slice(0, eq).trim() === name) {
      const value = pair.slice(eq + 1).trim()
      return value.startsWith('"') && value.endsWith('"') && value.length >= 2
        ? value.slice(1, -1)
        : value
    }
  }
  return null
}

/** The `WWW-Authenticate` challenge a 401 carries (RFC 6750 §3). */
export function bearerChallenge(error: TickstormError): string {
  return error.details?.['reason'] === 'missing'
    ? 'Bearer realm="tickstorm"'
    : 'Bearer realm="tickstorm", error="invalid_token"'
}

function unauthorized(reason: UnauthorizedReason, message: string): TickstormError {
  return new TickstormError(ERROR_CODES.UNAUTHORIZED, message, { details: { reason } })
}

/** jose's errors, in fixed words: its messages are not ours to forward. */
function fromJose(error: unknown, algorithms: readonly string[]): TickstormError {
  if (error instanceof errors.JWTExpired) return unauthorized('expired', 'the token has expired')
  if (error instanceof errors.JWTClaimValidationFailed) {
    const claim = /^[a-z]{1,16}$/i.test(error.claim) ? error.claim : 'a'
    return unauthorized('claims', `the token's "${claim}" claim is missing or not valid now`)
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return unauthorized('signature', 'the token signature does not verify with the server key')
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return unauthorized('algorithm', `the token must be signed with ${algorithms.join(' or ')}`)
  }
  if (error instanceof errors.JOSEError) {
    return unauthorized('malformed', 'the token is not a well-formed signed JWT')
  }
  // Not jose's verdict on the token: our bug. Logged by name only, since a message could quote input.
  console.error(
    `token verification failed unexpectedly (${(error as Error)?.name ?? typeof error})`,
  )
  return new TickstormError(ERROR_CODES.INTERNAL, 'internal error while checking the token')
}
