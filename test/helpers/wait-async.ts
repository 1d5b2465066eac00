/**
 * `waitFor` for conditions that can only be read asynchronously (an HTTP probe, a port that
 * accepts): awaits `probe` again a few ms after each false answer, never for a fixed time, and
 * fails with what it waited for (and the last state, if given) when `timeoutMs` passes. A probe
 * that throws counts as false; its error is reported on timeout.
 */
export async function waitForAsync(
  what: string,
  probe: () => Promise<boolean>,
  options: { timeoutMs?: number; state?: () => unknown } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      if (await probe()) return
      lastError = undefined
    } catch (error) {
      lastError = error
    }
    if (Date.now() > deadline) {
      const state = options.state ? ` (last state: ${JSON.stringify(options.state())})` : ''
      const error = lastError === undefined ? '' : ` (last error: ${String(lastError)})`
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${state}${error}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
