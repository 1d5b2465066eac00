/**
 * Connection limits: how many connections the server holds in all, and from one client address,
 * over every transport (streams, parked polls, WebSockets). Past either bound a new connection is
 * shed with its transport's own signal (SSE: 200 + a jittered `retry:` and the end, never 503;
 * long polling: 503 + Retry-After; WebSocket: 503 + Retry-After at the upgrade), and counted.
 */
export interface ConnectionLimiter {
  /** Takes a slot for `address`, or returns false (and counts a shed) when a bound is reached. */
  admit(address: string): boolean
  release(address: string): void
  readonly total: number
  readonly shed: number
}

export interface LimitOptions {
  /** 0: no bound. */
  readonly maxConnections: number
  readonly maxConnectionsPerAddress: number
}

export function createConnectionLimiter(options: LimitOptions): ConnectionLimiter {
  const byAddress = new Map<string, number>()
  let total = 0
  let shed = 0
  return {
    get total() {
      return total
    },
    get shed() {
      return shed
    },
    admit(address) {
      const current = byAddress.get(address) ?? 0
      if (
        (options.maxConnections > 0 && total >= options.maxConnections) ||
        (options.maxConnectionsPerAddress > 0 && current >= options.maxConnectionsPerAddress)
      ) {
        shed++
        return false
      }
      byAddress.set(address, current + 1)
      total++
      return true
    },
    release(address) {
      const current = byAddress.get(address) ?? 0
      if (current <= 1) byAddress.delete(address)
      else byAddress.set(address, current - 1)
      total--
    },
  }
}

const decoder = new TextDecoder()

/** The peer address of a uWS response or socket, as text (read once per connection). */
export function remoteAddress(source: { getRemoteAddressAsText(): ArrayBuffer }): string {
  return decoder.decode(source.getRemoteAddressAsText())
}
