/**
 * The fast path's scanner: reads one whole tick block of the shape tickstorm's server writes
 * (`id`, `event: quote|trade|status`, `data: {"ts":…,"sym":"…","q":…`) straight from the bytes, or
 * says it is not one (-1) so the block goes to the parser. See sse-fast-path.ts for the contract.
 */

export const LF = 0x0a
const CR = 0x0d
const DIGIT_0 = 0x30
const COMMA = 0x2c
const CLOSE_BRACE = 0x7d
export const UPPER_A = 0x41
export const UPPER_Z = 0x5a
const MAX_SYMBOL_BYTES = 5

// Fixed text is compared four bytes at a time (`DataView#getInt32`, little-endian,
// which TurboFan turns into one load), digits are read four at a time where they run that long,
// and the end of the data line is found eight bytes a step. A byte loop costs ~1 ns a byte on the
// dev VM: reading the ~120 bytes of an event one by one took ~300 ns, about twice this whole
// scan. Every read stays before `limit`.

/** Four ASCII characters as the word `DataView#getInt32(at, true)` reads from their bytes. */
function word(text: string): number {
  return (
    text.charCodeAt(0) |
    (text.charCodeAt(1) << 8) |
    (text.charCodeAt(2) << 16) |
    (text.charCodeAt(3) << 24)
  )
}

// The fixed text of a block, as words (the last word of a text may overlap the one before).
const ID_FIELD = word('id: ')
/** `\nevent: ` */
const EVENT_1 = word('\neve')
const EVENT_2 = word('nt: ')
/** `quote\ndata: {"ts":` and `trade\ndata: {"ts":` at +0, +4, +8, +12, +14 */
const TYPE_QUOTE = word('quot')
const TYPE_TRADE = word('trad')
const QT_DATA_1 = word('e\nda')
const QT_DATA_2 = word('ta: ')
const QT_DATA_3 = word('{"ts')
/** `status\ndata: {"ts":` at +0, +4, +8, +12, +15 */
const TYPE_STATUS = word('stat')
const STATUS_DATA_1 = word('us\nd')
const STATUS_DATA_2 = word('ata:')
const STATUS_DATA_3 = word(' {"t')
/** The last word of both, `ts":` */
const TS_COLON = word('ts":')
/** `,"sym":"` */
const SYM_1 = word(',"sy')
const SYM_2 = word('m":"')
/** `","q":` at +0, +2 */
const Q_1 = word('","q')
const Q_2 = word('"q":')
/** `\nevent: ` + `status\ndata: {"ts":`, the longest fixed run, checked for room once. */
const EVENT_TO_TS_MAX_BYTES = 8 + 19
const LF_WORD = 0x0a0a0a0a
const CR_WORD = 0x0d0d0d0d

/**
 * A view of `chunk` for the scanner, made once per distinct chunk in a row: a caller that reads
 * into one reused buffer (the SSE engine) gets the same view for every read.
 */
let viewChunk: Uint8Array | undefined
let viewOfChunk: DataView | undefined
export function viewOf(chunk: Uint8Array): DataView {
  if (chunk !== viewChunk || viewOfChunk === undefined) {
    viewOfChunk = new DataView(chunk.buffer, chunk.byteOffset, chunk.length)
    viewChunk = chunk
  }
  return viewOfChunk
}

/** The classic zero-byte test: the high bit of every zero byte of `word` set (and maybe above one). */
function zeroBytes(word: number): number {
  return (word - 0x01010101) & ~word & 0x80808080
}

/** Index (0-3) of the lowest byte flagged in a zero-byte test's result. */
function lowestByte(flags: number): number {
  return (31 - Math.clz32(flags & -flags)) >>> 3
}

/** What `scanTickBlock` read (one object for all readers: no allocation per event). */
export const scanned = { id: 0, type: 0, ts: 0, symbolKey: 0, symbolFrom: 0, q: 0, digitsEnd: 0 }

/**
 * Reads the run of ASCII digits at `at` and returns its value, computed as `readTickFields` does
 * (left to right, value × 10 + digit: exact, hence the same, while under 2^53); `scanned.digitsEnd`
 * is where the run ends. Four digits at a time while the run lasts: a word is four digits when
 * the high nibble of every byte is 3, before and after adding 6 to each byte. (Eight a step, as
 * two int32 halves with one double multiply-add, measured ~25 % slower over the whole scan.)
 */
function readDigits(chunk: Uint8Array, view: DataView, at: number, limit: number): number {
  let value = 0
  while (at + 4 <= limit) {
    const word = view.getInt32(at, true)
    if ((word & 0xf0f0f0f0) !== 0x30303030 || ((word + 0x06060606) & 0xf0f0f0f0) !== 0x30303030)
      break
    // Little-endian: the first digit is the low byte. Pairs, then the pair of pairs.
    const digits = word & 0x0f0f0f0f
    const pairs = (Math.imul(digits, 10) + (digits >>> 8)) & 0x00ff00ff
    value = value * 10_000 + ((pairs & 0xff) * 100 + (pairs >>> 16))
    at += 4
  }
  while (at < limit) {
    const byte = chunk[at]! - DIGIT_0
    if (byte < 0 || byte > 9) break
    value = value * 10 + byte
    at++
  }
  scanned.digitsEnd = at
  return value
}

/**
 * If `chunk[pos, …)` is one whole block of our shape ending before `limit` (see the top of the
 * file), fills `scanned` and returns the index just past its blank line; otherwise -1.
 */
export function scanTickBlock(
  chunk: Uint8Array,
  view: DataView,
  pos: number,
  limit: number,
): number {
  // id: <digits>
  if (pos + 4 > limit || view.getInt32(pos, true) !== ID_FIELD) return -1
  const idFrom = pos + 4
  const id = readDigits(chunk, view, idFrom, limit)
  let at = scanned.digitsEnd
  const idDigits = at - idFrom
  // [spec] the id's text is what the parser commits: `String(id)` must give it back.
  if (idDigits === 0 || id > Number.MAX_SAFE_INTEGER || (chunk[idFrom] === DIGIT_0 && idDigits > 1))
    return -1

  // \nevent: quote|trade|status\ndata: {"ts":
  if (
    at + EVENT_TO_TS_MAX_BYTES > limit ||
    view.getInt32(at, true) !== EVENT_1 ||
    view.getInt32(at + 4, true) !== EVENT_2
  )
    return -1
  const typeWord = view.getInt32(at + 8, true)
  let type: number
  if (typeWord === TYPE_QUOTE || typeWord === TYPE_TRADE) {
    if (
      view.getInt32(at + 12, true) !== QT_DATA_1 ||
      view.getInt32(at + 16, true) !== QT_DATA_2 ||
      view.getInt32(at + 20, true) !== QT_DATA_3 ||
      view.getInt32(at + 22, true) !== TS_COLON
    )
      return -1
    type = typeWord === TYPE_QUOTE ? 0 : 1
    at += 26
  } else if (typeWord === TYPE_STATUS) {
    if (
      view.getInt32(at + 12, true) !== STATUS_DATA_1 ||
      view.getInt32(at + 16, true) !== STATUS_DATA_2 ||
      view.getInt32(at + 20, true) !== STATUS_DATA_3 ||
      view.getInt32(at + 23, true) !== TS_COLON
    )
      return -1
    type = 2
    at += 27
  } else return -1

  // <ts digits>,"sym":"<A-Z>{1,5}","q":<q digits>
  const tsFrom = at
  const ts = readDigits(chunk, view, at, limit)
  at = scanned.digitsEnd
  if (
    at === tsFrom ||
    ts > Number.MAX_SAFE_INTEGER ||
    at + 8 > limit ||
    view.getInt32(at, true) !== SYM_1 ||
    view.getInt32(at + 4, true) !== SYM_2
  )
    return -1
  at += 8
  const symbolFrom = at
  let symbolKey = 0
  while (at < limit && at - symbolFrom < MAX_SYMBOL_BYTES) {
    const byte = chunk[at]!
    if (byte < UPPER_A || byte > UPPER_Z) break
    symbolKey = symbolKey * 32 + (byte - 0x40)
    at++
  }
  if (
    at === symbolFrom ||
    at + 6 > limit ||
    view.getInt32(at, true) !== Q_1 ||
    view.getInt32(at + 2, true) !== Q_2
  )
    return -1
  at += 6
  const qFrom = at
  const q = readDigits(chunk, view, at, limit)
  at = scanned.digitsEnd
  // Digits, then the next field or the object's end: `"q":null` or `"q":-3` is not a sequence
  // (as readTickFields decides too), and such a block goes to the parser.
  if (
    at === qFrom ||
    q > Number.MAX_SAFE_INTEGER ||
    at >= limit ||
    (chunk[at] !== COMMA && chunk[at] !== CLOSE_BRACE)
  )
    return -1

  // The rest of the data line is not read, only searched for its end: an LF, or a CR (the fixed
  // text and the digits cannot hold one; a block with a CR goes to the parser). Eight bytes a
  // step: a word holds an LF when (word ^ LF×4) has a zero byte, and the lowest byte flagged by
  // the classic zero-byte test is always a real one (false flags only sit above a real zero), so
  // the lowest flag of the LF and CR tests together is the first LF or CR.
  let lf = -1
  while (at + 8 <= limit) {
    const x = view.getInt32(at, true)
    const y = view.getInt32(at + 4, true)
    const xFlags = zeroBytes(x ^ LF_WORD) | zeroBytes(x ^ CR_WORD)
    const yFlags = zeroBytes(y ^ LF_WORD) | zeroBytes(y ^ CR_WORD)
    if ((xFlags | yFlags) !== 0) {
      lf = xFlags !== 0 ? at + lowestByte(xFlags) : at + 4 + lowestByte(yFlags)
      break
    }
    at += 8
  }
  if (lf === -1) {
    while (at < limit && chunk[at] !== LF && chunk[at] !== CR) at++
    lf = at
  }
  // …and a blank line.
  if (lf + 1 >= limit || chunk[lf] !== LF || chunk[lf + 1] !== LF) return -1

  scanned.id = id
  scanned.type = type
  scanned.ts = ts
  scanned.symbolKey = symbolKey
  scanned.symbolFrom = symbolFrom
  scanned.q = q
  return lf + 2
}
