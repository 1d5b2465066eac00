import { ERROR_CODES, TickstormError } from '../errors.js'
import { TAPE_FORMATS, type TapeFormat } from '../market/tapes/tape-event.js'
import type { TapeReplayOptions } from '../market/tapes/tape-market.js'

// `--tape FILE [--tape-format F] [--tape-start HH:MM:SS] [--tape-symbols A,B]`, shared by
// `tickstorm serve` and `tickstorm feed`: what replays a recorded tape instead of the model.

/** The parseArgs options of the tape flags. */
export const TAPE_FLAG_OPTIONS = {
  tape: { type: 'string' },
  'tape-format': { type: 'string' },
  'tape-start': { type: 'string' },
  'tape-symbols': { type: 'string', multiple: true },
} as const

export const TAPE_FLAGS_HELP = `  --tape <file>          replay a recorded tape instead of the model: a LOBSTER message file,
                         a DBN file (mbp-1, tbbo, trades, status; .dbn.zst) or an ITCH 5.0
                         day (.gz); same ids, q, replay, snapshots and conflation as the
                         model, each tick scheduled at its tape time from the start, divided
                         by --speed
  --tape-format <f>      lobster | dbn | itch (default: from the name or the first bytes)
  --tape-start <time>    tape time to start at, HH:MM:SS[.ffffff] New York (default: the
                         first event); earlier records only build the opening book
  --tape-symbols <list>  replay only these symbols (comma list, repeatable); without it the
                         tape is read once first to find its symbols
`

const usage = (message: string): TickstormError => new TickstormError(ERROR_CODES.USAGE, message)

/** `HH:MM:SS[.fraction]` as nanoseconds since midnight. */
export function parseTapeTime(text: string): number {
  const match = /^(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/.exec(text.trim())
  const [hh, mm, ss] = match === null ? [99, 0, 0] : [match[1], match[2], match[3]].map(Number)
  if (match === null || hh! > 23 || mm! > 59 || ss! > 59) {
    throw usage(
      `--tape-start: must be a time HH:MM:SS[.ffffff] (00:00:00 to 23:59:59), got ${JSON.stringify(text)}`,
    )
  }
  const fraction = Number((match[4] ?? '').padEnd(9, '0'))
  return ((hh! * 60 + mm!) * 60 + ss!) * 1e9 + fraction
}

/** The replay the flags ask for, or undefined without --tape (the other tape flags need it). */
export function tapeOptionsOf(values: {
  readonly tape?: string | undefined
  readonly 'tape-format'?: string | undefined
  readonly 'tape-start'?: string | undefined
  readonly 'tape-symbols'?: readonly string[] | undefined
}): TapeReplayOptions | undefined {
  const path = values.tape
  if (path === undefined) {
    const stray = (['tape-format', 'tape-start', 'tape-symbols'] as const).filter(
      (flag) => values[flag] !== undefined,
    )
    if (stray.length > 0) throw usage(`--${stray.join(', --')}: only with --tape <file>`)
    return undefined
  }
  if (path.trim() === '') throw usage('--tape: give a tape file')
  const format = values['tape-format']
  if (format !== undefined && !(TAPE_FORMATS as readonly string[]).includes(format)) {
    throw usage(
      `--tape-format: must be one of ${TAPE_FORMATS.join(', ')}, got ${JSON.stringify(format)}`,
    )
  }
  const start = values['tape-start']
  const listed = values['tape-symbols']
  const symbols = listed?.flatMap((list) => list.split(',')).map((symbol) => symbol.trim())
  if (symbols !== undefined && (symbols.length === 0 || symbols.some((symbol) => symbol === ''))) {
    throw usage(
      `--tape-symbols: must be a comma list of symbols, got ${JSON.stringify(listed?.join(','))}`,
    )
  }
  return {
    path,
    ...(format === undefined ? {} : { format: format as TapeFormat }),
    ...(start === undefined ? {} : { startNs: parseTapeTime(start) }),
    ...(symbols === undefined ? {} : { symbols }),
  }
}
