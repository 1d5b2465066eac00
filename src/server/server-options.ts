import { Problems } from '../errors.js'
import { DEFAULT_FEED_OPTIONS, type FeedOptions, resolveFeedOptions } from '../feed/feed.js'
import { resolveMarketOptions } from '../market/market.js'
import type { PresetName } from '../market/types.js'
import { authSecretProblem, describeSecret, publicKeyAlgorithm } from './auth.js'
import { corsOriginProblem } from './cors.js'

export interface ServerOptions extends FeedOptions {
  readonly host: string
  /** 0 picks any free port; the bound one is on the returned server. */
  readonly port: number
  /** Market: seed, preset, universe size (undefined: the preset's) and midday rate override. */
  readonly seed: number
  readonly preset: PresetName
  readonly symbols: number | undefined
  readonly ratePerSec: number | undefined
  /** `retry:` sent on every stream. */
  readonly retryMs: number
  readonly heartbeatMs: number
  readonly maxBodyBytes: number
  /** Most symbols one subscription may name (by default, the whole universe). */
  readonly maxSymbolsPerSubscription: number
  readonly catchUpBytes: number
  readonly slowConsumerTimeoutMs: number
  readonly drainRetryMinMs: number
  readonly drainRetryMaxMs: number
  /** Long polling: default and largest `timeoutMs`, and how many requests may be parked. */
  readonly pollTimeoutMs: number
  readonly maxPollTimeoutMs: number
  readonly maxParkedPolls: number
  /** WebSocket: buffered bytes before a socket is closed (1013), and the idle timeout. */
  readonly wsMaxBackpressureBytes: number
  readonly wsIdleTimeoutSec: number
  /**
   * Connections held at once over every transport (streams, parked polls, WebSockets), and from
   * one client address; 0: no bound. Past either a new one is shed with its transport's signal.
   * The default stays under the 20,000 file descriptors a process gets on these machines.
   */
  readonly maxConnections: number
  readonly maxConnectionsPerAddress: number
  /** Directory of the built demo page; undefined: `dist/web` when it has been built. */
  readonly webRoot: string | undefined
  /**
   * Token verification (auth.ts). With a key set, every subscription endpoint needs a JWT whose
   * `symbols` claim allows what is asked. `authSecret`: an HS256 shared secret, at least 32 bytes.
   * `authPublicKey`: a PEM public key, RS256 (RSA ≥ 2048 bits) or ES256 (P-256). Both may be set;
   * neither (the default) leaves every endpoint open.
   */
  readonly authSecret: string | undefined
  readonly authPublicKey: string | undefined
  /**
   * Origins whose pages may read the API (cors.ts). `['*']` (the default): any page, without
   * credentials. A list of exact origins (`https://app.example.com`): those are echoed with
   * credentials allowed, and other origins are refused on `/v1/*`.
   */
  readonly corsOrigins: readonly string[]
}

export const DEFAULT_SERVER_OPTIONS: ServerOptions = Object.freeze({
  ...DEFAULT_FEED_OPTIONS,
  host: '127.0.0.1',
  port: 8080,
  seed: 1,
  preset: 'normal',
  symbols: undefined,
  ratePerSec: undefined,
  retryMs: 2000,
  heartbeatMs: 15_000,
  maxBodyBytes: 64 * 1024,
  maxSymbolsPerSubscription: 8000,
  catchUpBytes: 256 * 1024,
  slowConsumerTimeoutMs: 30_000,
  drainRetryMinMs: 1000,
  drainRetryMaxMs: 30_000,
  pollTimeoutMs: 25_000,
  maxPollTimeoutMs: 120_000,
  maxParkedPolls: 20_000,
  wsMaxBackpressureBytes: 1024 * 1024,
  wsIdleTimeoutSec: 32,
  maxConnections: 19_500,
  maxConnectionsPerAddress: 0,
  webRoot: undefined,
  authSecret: undefined,
  authPublicKey: undefined,
  corsOrigins: Object.freeze(['*']),
})

export const FEED_OPTION_KEYS = ['speed', 'frameMs', 'historyEvents', 'historyBytes'] as const

/** The market's part of the server options, for `createMarket`. */
export function marketOptionsOf(options: ServerOptions): Record<string, unknown> {
  const market: Record<string, unknown> = { seed: options.seed, preset: options.preset }
  if (options.symbols !== undefined) market['symbols'] = options.symbols
  if (options.ratePerSec !== undefined) market['ratePerSec'] = options.ratePerSec
  return market
}

/**
 * Validates the server's options, and through the market's and the feed's own resolvers theirs,
 * reporting every problem of all three at once.
 */
export function resolveServerOptions(partial: Partial<ServerOptions> = {}): ServerOptions {
  const problems = new Problems()
  problems.unknownKeys('', partial, DEFAULT_SERVER_OPTIONS)
  const options: ServerOptions = { ...DEFAULT_SERVER_OPTIONS, ...stripUndefined(partial) }
  if (typeof options.host !== 'string' || options.host === '') {
    problems.add('host', 'must be a host name or address', options.host)
  }
  problems.int('port', options.port, 0, 65_535)
  problems.int('retryMs', options.retryMs, 0, 2_147_483_647)
  problems.int('heartbeatMs', options.heartbeatMs, 100, 3_600_000)
  problems.int('maxBodyBytes', options.maxBodyBytes, 64, 16 * 1024 * 1024)
  problems.int('maxSymbolsPerSubscription', options.maxSymbolsPerSubscription, 1, 8000)
  problems.int('catchUpBytes', options.catchUpBytes, 1024, 64 * 1024 * 1024)
  problems.int('slowConsumerTimeoutMs', options.slowConsumerTimeoutMs, 100, 3_600_000)
  problems.int('drainRetryMinMs', options.drainRetryMinMs, 0, 2_147_483_647)
  if (problems.int('drainRetryMaxMs', options.drainRetryMaxMs, 0, 2_147_483_647)) {
    if (options.drainRetryMaxMs < options.drainRetryMinMs) {
      problems.add('drainRetryMaxMs', 'must be ≥ drainRetryMinMs', options.drainRetryMaxMs)
    }
  }
  problems.int('maxConnections', options.maxConnections, 0, 10_000_000)
  problems.int('maxConnectionsPerAddress', options.maxConnectionsPerAddress, 0, 10_000_000)
  problems.int('maxPollTimeoutMs', options.maxPollTimeoutMs, 0, 3_600_000)
  problems.int('pollTimeoutMs', options.pollTimeoutMs, 0, options.maxPollTimeoutMs)
  problems.int('maxParkedPolls', options.maxParkedPolls, 0, 1_000_000)
  problems.int('wsMaxBackpressureBytes', options.wsMaxBackpressureBytes, 1024, 1024 * 1024 * 1024)
  // uWS counts idle time in units of about 4 s; 0 turns the timeout off.
  problems.int('wsIdleTimeoutSec', options.wsIdleTimeoutSec, 0, 960)
  // Secrets are described, never quoted: problems end up in logs and on terminals.
  const secretProblem =
    options.authSecret === undefined ? null : authSecretProblem(options.authSecret)
  if (secretProblem !== null) {
    problems.add('authSecret', secretProblem, describeSecret(options.authSecret))
  }
  if (options.authPublicKey !== undefined) {
    const algorithm = publicKeyAlgorithm(options.authPublicKey)
    if ('problem' in algorithm) {
      problems.add('authPublicKey', algorithm.problem, describeSecret(options.authPublicKey))
    }
  }
  const corsOrigins = checkCorsOrigins(problems, options.corsOrigins)
  problems.absorb(() => resolveFeedOptions(pick(options, FEED_OPTION_KEYS)))
  problems.absorb(() => resolveMarketOptions(marketOptionsOf(options)))
  problems.throwIfAny('server options')
  return Object.freeze({ ...options, corsOrigins: corsOrigins! })
}

/** `['*']`, or a non-empty list of exact origins; returns it deduplicated and frozen. */
function checkCorsOrigins(problems: Problems, value: unknown): readonly string[] | undefined {
  if (!Array.isArray(value) || value.length === 0) {
    problems.add('corsOrigins', 'must be ["*"] or a non-empty list of origins', value)
    return undefined
  }
  let ok = true
  value.forEach((origin: unknown, i) => {
    const problem = corsOriginProblem(origin)
    if (problem !== null) {
      problems.add(`corsOrigins[${i}]`, problem, origin)
      ok = false
    }
  })
  if (value.length > 1 && value.includes('*')) {
    problems.add('corsOrigins', '"*" must stand alone (it allows every origin already)', value)
    ok = false
  }
  return ok ? Object.freeze([...new Set(value as string[])]) : undefined
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, entry]) => entry !== undefined),
  ) as Partial<T>
}

export function pick<T extends object, K extends keyof T>(
  value: T,
  keys: readonly K[],
): Pick<T, K> {
  const out = {} as Pick<T, K>
  for (const key of keys) out[key] = value[key]
  return out
}

/**
 * The generator's market options (an edge's, read from Redis) over a server's own: an edge serves
 * the generator's universe and quotes, whatever it was started with.
 */
export function withMarketOf(
  partial: Partial<ServerOptions>,
  market: Pick<ServerOptions, 'seed' | 'preset' | 'symbols' | 'ratePerSec'>,
): Partial<ServerOptions> {
  return {
    ...partial,
    seed: market.seed,
    preset: market.preset,
    symbols: market.symbols,
    ratePerSec: market.ratePerSec,
  }
}
