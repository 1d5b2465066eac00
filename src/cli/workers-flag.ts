import { ERROR_CODES, TickstormError } from '../errors.js'

/**
 * `serve --workers <n>` (or `--workers=<n>`), taken out of the arguments before the server's own
 * flags are parsed: it chooses how the server runs (one process, or n worker threads on one port),
 * not what it serves. Absent: 1. The value is checked with the other options (`workers` must be
 * from 1 to 64); only a missing value is refused here.
 */
export function takeWorkersFlag(argv: readonly string[]): {
  workers: number
  /** The value as typed, for naming it in a problem (absent: the flag was not given). */
  typed?: string
  args: string[]
} {
  const args: string[] = []
  let workers = 1
  let typed: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--workers' || arg.startsWith('--workers=')) {
      const value = arg === '--workers' ? argv[++i] : arg.slice('--workers='.length)
      if (value === undefined || value === '' || value.startsWith('--')) {
        throw new TickstormError(ERROR_CODES.USAGE, '--workers needs a number of worker threads')
      }
      workers = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN
      typed = value
      continue
    }
    args.push(arg)
  }
  return typed === undefined ? { workers, args } : { workers, typed, args }
}
