/**
 * What undici's "fetch failed" hides in its cause: `ECONNREFUSED 127.0.0.1:4000`,
 * `ENOTFOUND no.such.host`, one per address tried (localhost may be tried as ::1 and 127.0.0.1).
 */
export function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: unknown } | null)?.cause ?? error
  const parts = cause instanceof AggregateError ? cause.errors : [cause]
  const described = parts.map((part) => {
    const e = part as Partial<
      NodeJS.ErrnoException & { address: string; port: number; hostname: string }
    >
    if (typeof e.code !== 'string') return e instanceof Error ? e.message : String(e)
    const where =
      e.address !== undefined
        ? `${e.address}${e.port === undefined ? '' : `:${e.port}`}`
        : (e.hostname ?? '')
    return where === '' ? e.code : `${e.code} ${where}`
  })
  return [...new Set(described)].join(', ')
}
