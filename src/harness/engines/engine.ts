import type { TransportMetrics } from '../metrics.js'

/** Where and how a worker's subscribers connect. */
export interface EngineContext {
  /** The server's base URL, `http://host:port`. */
  readonly baseUrl: URL
  readonly metrics: TransportMetrics
  /**
   * Loopback source addresses to spread connections over (≈28k ephemeral ports each); the
   * subscriber with index i uses `localAddresses[i % n]`. Empty: let the OS pick.
   */
  readonly localAddresses: readonly string[]
  /** Reconnection delay when the server named none (`retry:`), before jitter. */
  readonly retryMs: number
}

/** One synthetic subscriber. It reconnects by itself until closed. */
export interface Subscriber {
  close(): void
  /**
   * Cuts the connection abruptly, as a network fault would; the subscriber reconnects by itself
   * and resumes by id (fault injection).
   */
  drop(): void
}

export interface Engine {
  /**
   * Starts a subscriber on `symbols` (null: every symbol). `index` spreads source addresses.
   * Errors never throw: they are counted in the metrics by kind.
   */
  start(symbols: readonly string[] | null, index: number): Subscriber
}

/** A reconnection delay with ±50 % jitter, so a dropped crowd does not come back in lockstep. */
export function jittered(ms: number): number {
  return ms * (0.5 + Math.random())
}

export function localAddressFor(context: EngineContext, index: number): string | undefined {
  const addresses = context.localAddresses
  return addresses.length === 0 ? undefined : addresses[index % addresses.length]
}
