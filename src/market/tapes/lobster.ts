/**
 * LOBSTER (lobsterdata.com) order book files, as its documentation describes them: for one symbol
 * and day, a message file and an orderbook file of the same number of lines, line n of the second
 * being the book after the event on line n of the first. Both are plain CSV without a header,
 * named `TICKER_YYYY-MM-DD_STARTMS_ENDMS_message_LEVEL.csv` and `…_orderbook_LEVEL.csv`.
 *
 * Message columns: time (seconds after midnight, decimals down to nanoseconds), type (1 new
 * limit order, 2 partial cancel, 3 delete, 4 visible execution, 5 hidden execution, 6 cross trade,
 * 7 trading halt), order id, size, price (dollars × 10000: the model's units as they are),
 * direction (-1 sell, 1 buy). Orderbook columns: ask price 1, ask size 1, bid price 1, bid size 1,
 * then the deeper levels; an empty level is a dummy price (9999999999 ask, -9999999999 bid).
 *
 * The top of book comes from the orderbook line (a quote whenever it changes); executions (4, 5)
 * and crosses (6) are trades; a halt line (7; its price -1 halt, 0 quoting, 1 resume) is a status.
 * The two files are read side by side a chunk at a time: memory holds a chunk of each. Lines are
 * split by hand, not by a CSV library: LOBSTER's fields are bare numbers (no quotes, no header), a
 * general parser was six times slower on its message lines, and only the first four of an
 * orderbook line's 4 × LEVEL columns are needed.
 */

import { access } from 'node:fs/promises'
import { TextDecoder } from 'node:util'
import { type ByteSource, openByteSource } from './byte-source.js'
import { createProgressTally, truncationStatuses } from './reader-kit.js'
import {
  CLOSING_CROSS,
  continuousConditions,
  OPENING_CROSS,
  symbolFilter,
  type TapeEvent,
  type TapeReader,
  type TapeReaderOptions,
  tapeError,
} from './tape-event.js'

const NAME =
  /^([^_/]+)_(\d{4}-\d{2}-\d{2})_(\d+)_(\d+)_(message|orderbook)_(\d+)\.csv(\.gz|\.zst)?$/
const TIME = /^(\d+)(?:\.(\d+))?$/
const INTEGER = /^-?\d+$/
const MESSAGE_COLUMNS = 6
/** Noon: a cross before it is the opening cross, after it the closing one (LOBSTER's 6). */
const NOON_NS = 12 * 3600 * 1e9
/** LOBSTER's dummy prices for an empty level are ±9999999999; anything that far is "none". */
const DUMMY_PRICE = 9_999_999_999

export interface LobsterFiles {
  readonly symbol: string
  readonly date: string
  readonly message: string
  readonly orderbook: string
}

/** `true` when the file name is a LOBSTER message or orderbook file's. */
export function isLobsterName(path: string): boolean {
  return NAME.test(path.split('/').pop() ?? path)
}

/**
 * The message and orderbook files of a LOBSTER pair, from either name: the partner is the same
 * name with `message` and `orderbook` swapped, compressed or not.
 */
export async function lobsterFiles(path: string): Promise<LobsterFiles> {
  const slash = path.lastIndexOf('/')
  const dir = path.slice(0, slash + 1)
  const name = path.slice(slash + 1)
  const match = NAME.exec(name)
  if (match === null) {
    throw tapeError(
      path,
      'file name',
      'expected a LOBSTER name TICKER_YYYY-MM-DD_STARTMS_ENDMS_message_LEVEL.csv (or _orderbook_), optionally .gz or .zst',
    )
  }
  const [, symbol, date, start, end, kind, level] = match as unknown as string[]
  const other = kind === 'message' ? 'orderbook' : 'message'
  const stem = `${dir}${symbol}_${date}_${start}_${end}_${other}_${level}.csv`
  let partner: string | undefined
  for (const candidate of [`${stem}${match[7] ?? ''}`, stem, `${stem}.gz`, `${stem}.zst`]) {
    try {
      await access(candidate)
      partner = candidate
      break
    } catch {
      // not this one
    }
  }
  if (partner === undefined) {
    throw tapeError(path, 'file name', `expected its ${other} file beside it: ${stem}`)
  }
  return {
    symbol: symbol!,
    date: date!,
    message: kind === 'message' ? path : partner,
    orderbook: kind === 'message' ? partner : path,
  }
}

/** One CSV file read a chunk of whole lines at a time. */
interface CsvSide {
  readonly source: ByteSource
  readonly iterator: AsyncIterator<Uint8Array>
  readonly decoder: TextDecoder
  /** The text after the last newline seen. */
  partial: string
  rows: string[]
  index: number
  /** Line number (1-based) of `rows[0]`. */
  firstLine: number
  ended: boolean
  /** The last row is a final line without its newline: maybe cut, so not to be trusted. */
  lastUnterminated: boolean
}

function side(source: ByteSource): CsvSide {
  return {
    source,
    iterator: source[Symbol.asyncIterator](),
    decoder: new TextDecoder(),
    partial: '',
    rows: [],
    index: 0,
    firstLine: 1,
    ended: false,
    lastUnterminated: false,
  }
}

/** Lines of `text` (which ends with its last newline, or is a final unterminated line). */
const splitLines = (text: string): string[] => {
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (line.endsWith('\r')) lines[i] = line.slice(0, -1)
  }
  return lines
}

/** Reads chunks until `csv` has rows again or its file ends. */
async function fill(csv: CsvSide): Promise<void> {
  csv.firstLine += csv.rows.length
  csv.rows = []
  csv.index = 0
  while (csv.rows.length === 0 && !csv.ended) {
    const next = await csv.iterator.next()
    if (next.done === true) {
      csv.ended = true
      const rest = csv.partial + csv.decoder.decode()
      csv.partial = ''
      if (rest !== '') {
        csv.rows = splitLines(rest)
        csv.lastUnterminated = true
      }
      return
    }
    const text = csv.partial + csv.decoder.decode(next.value, { stream: true })
    const end = text.lastIndexOf('\n')
    if (end < 0) {
      csv.partial = text
      continue
    }
    csv.partial = text.slice(end + 1)
    csv.rows = splitLines(text.slice(0, end + 1))
  }
}

/** Seconds after midnight as text ("34200.004241176") to exact integer nanoseconds. */
function nanoseconds(text: string): number | undefined {
  const match = TIME.exec(text)
  if (match === null) return undefined
  const fraction = (match[2] ?? '').slice(0, 9).padEnd(9, '0')
  return Number(match[1]) * 1e9 + Number(fraction)
}

function integer(text: string | undefined): number | undefined {
  return text !== undefined && INTEGER.test(text) ? Number(text) : undefined
}

export function createLobsterReader(
  files: LobsterFiles,
  message: ByteSource,
  orderbook: ByteSource,
  options: TapeReaderOptions = {},
): TapeReader {
  const wanted = symbolFilter(options.symbols)
  const { symbol } = files
  const tally = createProgressTally([message, orderbook])
  const { progress } = tally
  let last: readonly [number, number, number, number] | undefined
  let lastNs = 0

  /** The top of book of an orderbook line, or undefined when the line is not one. */
  const topOf = (line: string): [number, number, number, number] | undefined => {
    // Only the first level is read; the rest is only counted (4 columns a level).
    const c1 = line.indexOf(',')
    const c2 = line.indexOf(',', c1 + 1)
    const c3 = line.indexOf(',', c2 + 1)
    if (c1 < 0 || c2 < 0 || c3 < 0) return undefined
    let c4 = line.indexOf(',', c3 + 1)
    let columns = 4
    for (let at = c4; at >= 0; at = line.indexOf(',', at + 1)) columns++
    if (columns % 4 !== 0) return undefined
    if (c4 < 0) c4 = line.length
    const askPrice = integer(line.slice(0, c1))
    const askSize = integer(line.slice(c1 + 1, c2))
    const bidPrice = integer(line.slice(c2 + 1, c3))
    const bidSize = integer(line.slice(c3 + 1, c4))
    if (
      askPrice === undefined ||
      askSize === undefined ||
      bidPrice === undefined ||
      bidSize === undefined
    ) {
      return undefined
    }
    const noAsk = askPrice <= 0 || askPrice >= DUMMY_PRICE
    const noBid = bidPrice <= 0 || bidPrice <= -DUMMY_PRICE
    return [noBid ? 0 : bidPrice, noBid ? 0 : bidSize, noAsk ? 0 : askPrice, noAsk ? 0 : askSize]
  }

  /**
   * Decodes one pair of lines into `out`; returns a problem (what was expected) or undefined. A
   * problem in a final unterminated line is a cut file, anywhere else a bad one.
   */
  const decode = (
    line: string,
    book: string,
    out: TapeEvent[],
  ): { file: 'message' | 'orderbook'; expected: string } | undefined => {
    const row = line.split(',')
    if (row.length !== MESSAGE_COLUMNS) {
      return {
        file: 'message',
        expected: `expected ${MESSAGE_COLUMNS} columns (time, type, order id, size, price, direction), got ${row.length}`,
      }
    }
    const tsNs = nanoseconds(row[0]!)
    if (tsNs === undefined) {
      return {
        file: 'message',
        expected: `expected a time in seconds after midnight, got ${JSON.stringify(row[0])}`,
      }
    }
    const type = integer(row[1])
    const size = integer(row[3])
    const price = integer(row[4])
    const direction = integer(row[5])
    if (type === undefined || type < 1 || type > 7) {
      return {
        file: 'message',
        expected: `expected an event type 1 to 7, got ${JSON.stringify(row[1])}`,
      }
    }
    if (integer(row[2]) === undefined || size === undefined || price === undefined) {
      return {
        file: 'message',
        expected: `expected integer order id, size and price, got ${JSON.stringify(row.slice(2, 5).join(','))}`,
      }
    }
    if (direction !== 1 && direction !== -1) {
      return {
        file: 'message',
        expected: `expected a direction -1 or 1, got ${JSON.stringify(row[5])}`,
      }
    }
    const top = topOf(book)
    if (top === undefined) {
      return {
        file: 'orderbook',
        expected: `expected integer ask price, ask size, bid price, bid size per level (4 columns a level), got ${JSON.stringify(book.length > 80 ? `${book.slice(0, 80)}…` : book)}`,
      }
    }
    if (type === 7 && price !== -1 && price !== 0 && price !== 1) {
      return {
        file: 'message',
        expected: `expected a halt line's price -1 (halt), 0 (quoting) or 1 (resume), got ${price}`,
      }
    }
    tally.records++
    lastNs = tsNs
    if (type === 4 || type === 5) {
      out.push({ kind: 'trade', symbol, tsNs, price, size, conditions: continuousConditions(size) })
    } else if (type === 6 && size > 0) {
      const conditions = tsNs < NOON_NS ? OPENING_CROSS : CLOSING_CROSS
      out.push({ kind: 'trade', symbol, tsNs, price, size, conditions })
    } else if (type === 7) {
      out.push(
        price === 1
          ? { kind: 'status', symbol, tsNs, status: 'trading', reason: 'reopen' }
          : {
              kind: 'status',
              symbol,
              tsNs,
              status: 'halted',
              reason: price === 0 ? 'quotation-only' : 'halt',
            },
      )
    }
    if (
      last === undefined ||
      last[0] !== top[0] ||
      last[1] !== top[1] ||
      last[2] !== top[2] ||
      last[3] !== top[3]
    ) {
      last = top
      out.push({
        kind: 'quote',
        symbol,
        tsNs,
        bid: top[0],
        bidSize: top[1],
        ask: top[2],
        askSize: top[3],
      })
    }
    return undefined
  }

  async function* read(): AsyncGenerator<readonly TapeEvent[]> {
    if (wanted !== undefined && !wanted.has(symbol)) return
    const messages = side(message)
    const books = side(orderbook)
    const end = function* (why: string): Generator<readonly TapeEvent[]> {
      tally.truncated = why
      // Every decoded line emits at least the first quote, so a symbol with records was seen.
      if (tally.records > 0) yield truncationStatuses([symbol], lastNs)
    }
    for (;;) {
      if (messages.index >= messages.rows.length) await fill(messages)
      if (books.index >= books.rows.length) await fill(books)
      const out: TapeEvent[] = []
      while (messages.index < messages.rows.length && books.index < books.rows.length) {
        const row = messages.rows[messages.index]!
        const book = books.rows[books.index]!
        const problem = decode(row, book, out)
        if (problem !== undefined) {
          const csv = problem.file === 'message' ? messages : books
          const line = csv.firstLine + csv.index
          if (csv.lastUnterminated && csv.index === csv.rows.length - 1) {
            if (out.length > 0) yield out
            yield* end(`${files[problem.file]}: line ${line} is cut short`)
            return
          }
          throw tapeError(files[problem.file], `line ${line}`, problem.expected)
        }
        messages.index++
        books.index++
      }
      if (out.length > 0) yield out
      const messagesLeft = messages.index < messages.rows.length
      const booksLeft = books.index < books.rows.length
      if (!messagesLeft && !booksLeft && messages.ended && books.ended) {
        const cut = message.cutShort ?? orderbook.cutShort
        if (cut !== undefined) yield* end(cut)
        return
      }
      if ((messages.ended && !messagesLeft) || (books.ended && !booksLeft)) {
        const [short, long] =
          messages.ended && !messagesLeft ? ['message', 'orderbook'] : ['orderbook', 'message']
        const ended = short === 'message' ? messages : books
        yield* end(
          `the ${short} file ends after line ${ended.firstLine + ended.rows.length - 1} while the ${long} file goes on`,
        )
        return
      }
    }
  }

  return {
    path: files.message,
    header: { format: 'lobster', date: files.date, symbols: [symbol] },
    progress,
    [Symbol.asyncIterator]: () => read(),
  }
}

/** Opens a LOBSTER pair from the name of either file. */
export async function openLobster(
  path: string,
  options: TapeReaderOptions = {},
): Promise<TapeReader> {
  const files = await lobsterFiles(path)
  const [message, orderbook] = await Promise.all([
    openByteSource(files.message, options.chunkBytes),
    openByteSource(files.orderbook, options.chunkBytes),
  ])
  return createLobsterReader(files, message, orderbook, options)
}
