import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { parseArgs } from 'node:util'
import { ERROR_CODES, TickstormError } from '../errors.js'
import { createMarket, PRESET_NAMES } from '../market/market.js'
import { openDbnWriter } from '../market/tapes/dbn-writer.js'
import { openTape } from '../market/tapes/open-tape.js'
import { TAPE_FORMATS, type TapeFormat } from '../market/tapes/tape-event.js'
import {
  DEFAULT_TOP_SYMBOLS,
  formatTapeInfo,
  formatTapeTime,
  tapeInfo,
} from '../market/tapes/tape-info.js'
import type { Tick } from '../market/types.js'
import { EXIT } from './exit-codes.js'
import { integer, number } from './flag-values.js'

// `tickstorm tape info`: what a recorded tape holds and what replaying it will ask of a server.

/** The day `tape write` stamps on the model's clock unless told (any trading day will do). */
const DEFAULT_TAPE_DATE = '2024-03-28'

const TAPE_HELP = `Usage: tickstorm tape info <file> [--format lobster|dbn|itch] [--json] [--top N]
       tickstorm tape write --out <file.dbn> [--preset P] [--seconds N] [--seed N] [--symbols N]
                            [--rate N] [--date YYYY-MM-DD]

tape write: runs the seeded model (as \`serve\` would) for --seconds of market time from its
preset's start and writes its ticks as a DBN v2 file of schema mbp-1 (gzip-compressed when the
name ends in .gz), a tape \`serve --tape\` replays like a recorded one: e.g. the open-burst
preset's 09:29:30 pre-open, opening cross and burst. Quotes are book records, trades are
records with action T; status ticks (halts) have no place in mbp-1 and are left out.

tape info:

Reads a recorded market tape once, streaming (files of gigabytes are fine; .gz and .zst are
decompressed on the fly), and prints: the format and trading day, records read (and those of
types a replay skips, e.g. DBN imbalance records), events by kind (quotes, trades, status) as a
replay would send them, the busiest symbols, the time span, and the peak event rate in sliding
1-s and 1-ms windows, so you know what a replay will ask of the server before running it.

Formats (detected from the name or the first bytes; --format to say it):
  lobster   a LOBSTER message file TICKER_DATE_START_END_message_LEVEL.csv, its orderbook file
            beside it (either name may be given)
  dbn       Databento DBN v1-v3, schemas mbp-1, tbbo, trades, status (halts), or a mixed
            file of them (usually .dbn.zst)
  itch      Nasdaq TotalView-ITCH 5.0, length-prefixed as in Nasdaq's files (e.g. 01302019.NASDAQ_ITCH50.gz)

A tape cut short (a partial download) is read up to the cut and reported as truncated; a tape
that is not what its format says fails naming the file, the byte offset or line, and what was
expected there.

Options of info:
  --format <name>  read the file as this format
  --json           print the figures as JSON
  --top <n>        how many of the busiest symbols to list (default ${DEFAULT_TOP_SYMBOLS})
Options of write:
  --out <file>     the DBN file to write (.dbn, or .dbn.gz)
  --preset <name>  ${PRESET_NAMES.join(' | ')} (default open-burst)
  --seconds <n>    market seconds to write, from the preset's start (default 60)
  --seed <n>       market seed (default 1)
  --symbols <n>    universe size (default: the preset's)
  --rate <n>       midday mean events/s, overriding the preset's
  --date <day>     the trading day the file says (default ${DEFAULT_TAPE_DATE})
  -h, --help       this text

Exit codes: 0 ok (also for a truncated tape), 1 a file that cannot be read or is not a valid
tape, 2 bad command line.
`

export async function tape(args: readonly string[]): Promise<number> {
  if (args[0] === 'write') return tapeWrite(args.slice(1))
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      format: { type: 'string' },
      json: { type: 'boolean' },
      top: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  })
  if (values.help) {
    process.stdout.write(TAPE_HELP)
    return EXIT.OK
  }
  const [sub, file, ...extra] = positionals
  const usage = (problem: string): number => {
    process.stderr.write(`tickstorm tape: ${problem}\n\n${TAPE_HELP}`)
    return EXIT.USAGE
  }
  if (sub !== 'info') {
    return usage(
      sub === undefined
        ? 'give a subcommand: info or write'
        : `unknown subcommand ${JSON.stringify(sub)}`,
    )
  }
  if (file === undefined || extra.length > 0) return usage('give one tape file')
  const format = values.format
  if (format !== undefined && !(TAPE_FORMATS as readonly string[]).includes(format)) {
    return usage(
      `--format must be one of ${TAPE_FORMATS.join(', ')}, got ${JSON.stringify(format)}`,
    )
  }
  const top = values.top === undefined ? DEFAULT_TOP_SYMBOLS : integer(values.top)
  if (!Number.isInteger(top) || top < 0) {
    return usage(`--top must be an integer ≥ 0, got ${JSON.stringify(values.top)}`)
  }
  const reader = await openTape(file, format === undefined ? {} : { format: format as TapeFormat })
  // A gigabyte tape takes minutes: say how far it is, once a second, where a person is watching.
  const progress = process.stderr.isTTY === true
  let shownAt = Date.now()
  let shown = false
  const info = await tapeInfo(reader, {
    top,
    onBatch: (tape) => {
      if (!progress || Date.now() - shownAt < 1000) return
      shownAt = Date.now()
      shown = true
      const { fileBytes, fileSize, records } = tape.progress
      const percent = fileSize === 0 ? 100 : Math.floor((100 * fileBytes) / fileSize)
      process.stderr.write(
        `\r  read ${percent}% of ${file}, ${records.toLocaleString('en-US')} records `,
      )
    },
  })
  if (shown) process.stderr.write('\r\x1b[K') // clear the progress line
  process.stdout.write(
    values.json ? `${JSON.stringify(info, null, 2)}\n` : `${formatTapeInfo(info)}\n`,
  )
  return EXIT.OK
}

/** Market time written per step: bounds the ticks held at once. */
const WRITE_STEP_US = 100_000

/** `tickstorm tape write`: the model's ticks as a DBN file. */
async function tapeWrite(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      out: { type: 'string' },
      preset: { type: 'string', default: 'open-burst' },
      seconds: { type: 'string', default: '60' },
      seed: { type: 'string' },
      symbols: { type: 'string' },
      rate: { type: 'string' },
      date: { type: 'string', default: DEFAULT_TAPE_DATE },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  })
  if (values.help) {
    process.stdout.write(TAPE_HELP)
    return EXIT.OK
  }
  const usage = (problem: string): number => {
    process.stderr.write(`tickstorm tape write: ${problem}\n\n${TAPE_HELP}`)
    return EXIT.USAGE
  }
  if (positionals.length > 0) return usage(`unexpected ${JSON.stringify(positionals[0])}`)
  if (values.out === undefined || values.out === '') return usage('--out <file.dbn> is required')
  const seconds = number(values.seconds)
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) {
    return usage(
      `--seconds must be a number above 0 and at most 86400, got ${JSON.stringify(values.seconds)}`,
    )
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(values.date) || Number.isNaN(Date.parse(values.date))) {
    return usage(`--date must be YYYY-MM-DD, got ${JSON.stringify(values.date)}`)
  }
  const market = (() => {
    try {
      return createMarket({
        preset: values.preset,
        ...(values.seed === undefined ? {} : { seed: integer(values.seed) }),
        ...(values.symbols === undefined ? {} : { symbols: integer(values.symbols) }),
        ...(values.rate === undefined ? {} : { ratePerSec: number(values.rate) }),
      })
    } catch (error) {
      if (error instanceof TickstormError && error.code === ERROR_CODES.INVALID_OPTIONS) {
        // The market's resolver names its keys; the flags are the same words (rate: --rate).
        throw new TickstormError(ERROR_CODES.USAGE, error.message.replace('ratePerSec', '--rate'))
      }
      throw error
    }
  })()
  await mkdir(dirname(values.out), { recursive: true })
  const writer = await openDbnWriter({
    path: values.out,
    date: values.date,
    instruments: market.instruments,
  })
  // The opening book of every symbol, at the start: a replay opens with the model's quotes.
  await writer.write(
    market.instruments.map((_, i) => ({
      ...market.latestQuote(i),
      simTimeUs: market.startSimTimeUs,
    })),
  )
  const endUs = market.startSimTimeUs + Math.round(seconds * 1e6)
  const ticks: Tick[] = []
  while (market.simTimeUs < endUs) {
    ticks.length = 0
    market.advanceTo(Math.min(endUs, market.simTimeUs + WRITE_STEP_US), ticks)
    await writer.write(ticks)
  }
  const { records, skippedStatuses } = await writer.close()
  process.stdout.write(
    `tickstorm tape write: ${records.toLocaleString('en-US')} records (${market.instruments.length} symbols, preset ${market.preset}, seed ${market.seed}, ${formatTapeTime(market.startSimTimeUs * 1000)} to ${formatTapeTime(endUs * 1000)} on ${values.date}) to ${values.out}` +
      (skippedStatuses > 0 ? `; ${skippedStatuses} status ticks left out (mbp-1 has none)` : '') +
      '\n',
  )
  return EXIT.OK
}
