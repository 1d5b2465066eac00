/**
 * The one clock both the server and the harness read: epoch microseconds, taken as the process's
 * wall-clock origin plus a monotonic offset. Every process on one host derives it the same way, so
 * "receipt − scheduled" is a true one-way latency there (across hosts it needs synchronized clocks).
 * `Date.now()` would cost us three orders of magnitude of resolution.
 */
const originMs = performance.timeOrigin

export function nowUs(): number {
  return Math.round((originMs + performance.now()) * 1000)
}
