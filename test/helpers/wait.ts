/**
 * Waits for a condition, never for a fixed time: polls `predicate` every few ms and fails with
 * what it waited for (and the last state, if given) when `timeoutMs` passes.
 */
export async function waitFor(
  what: string,
  predicate: () => boolean,
  options: { timeoutMs?: number; state?: () => unknown } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) {
      const state = options.state ? ` (last state: ${JSON.stringify(options.state())})` : ''
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${state}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
