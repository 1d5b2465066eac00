/**
 * ITCH 5.0 messages written field by field from the spec's message tables (Nasdaq TotalView-ITCH
 * 5.0, §1.3 and §4): big-endian integers, Alpha fields left-justified and padded with spaces,
 * Price(4) with four implied decimals, a 6-byte timestamp in nanoseconds since midnight. Each
 * message starts with type, stock locate, tracking number and timestamp (11 bytes); a file frames
 * each with a 2-byte big-endian length, as Nasdaq's sample files do.
 */

type Field =
  | readonly ['u8' | 'u16' | 'u32' | 'u48' | 'u64', number]
  | readonly ['alpha', string, number]

function encode(fields: readonly Field[]): Uint8Array {
  const out: number[] = []
  for (const field of fields) {
    const [kind, value] = field
    if (kind === 'alpha') {
      const width = field[2]
      const text = String(value).padEnd(width, ' ')
      for (let i = 0; i < width; i++) out.push(text.charCodeAt(i))
      continue
    }
    const bytes = { u8: 1, u16: 2, u32: 4, u48: 6, u64: 8 }[kind]
    let big = BigInt(value as number)
    const chunk: number[] = []
    for (let i = 0; i < bytes; i++) {
      chunk.unshift(Number(big & 0xffn))
      big >>= 8n
    }
    out.push(...chunk)
  }
  return Uint8Array.from(out)
}

const head = (type: string, locate: number, tsNs: number): Field[] => [
  ['alpha', type, 1],
  ['u16', locate],
  ['u16', 0],
  ['u48', tsNs],
]

const message = (type: string, locate: number, tsNs: number, body: Field[]): Uint8Array =>
  encode([...head(type, locate, tsNs), ...body])

/** The body an add order (A) and an attributed one (F, which appends the MPID) share. */
const orderBody = (
  ref: number,
  side: string,
  shares: number,
  stock: string,
  price: number,
): Field[] => [
  ['u64', ref],
  ['alpha', side, 1],
  ['u32', shares],
  ['alpha', stock, 8],
  ['u32', price],
]

/** The body an execution (E) and one with a price (C, which appends printable and price) share. */
const executionBody = (ref: number, shares: number, match: number): Field[] => [
  ['u64', ref],
  ['u32', shares],
  ['u64', match],
]

export const itch = {
  systemEvent: (tsNs: number, code: string) => message('S', 0, tsNs, [['alpha', code, 1]]),
  stockDirectory: (locate: number, tsNs: number, stock: string, roundLot = 100) =>
    message('R', locate, tsNs, [
      ['alpha', stock, 8],
      ['alpha', 'Q', 1], // market category
      ['alpha', 'N', 1], // financial status
      ['u32', roundLot],
      ['alpha', 'N', 1], // round lots only
      ['alpha', 'C', 1], // issue classification
      ['alpha', 'Z', 2], // issue sub-type
      ['alpha', 'P', 1], // authenticity
      ['alpha', 'N', 1], // short sale threshold
      ['alpha', 'N', 1], // IPO flag
      ['alpha', '1', 1], // LULD reference price tier
      ['alpha', 'N', 1], // ETP flag
      ['u32', 0], // ETP leverage factor
      ['alpha', 'N', 1], // inverse indicator
    ]),
  tradingAction: (locate: number, tsNs: number, stock: string, state: string, reason = '') =>
    message('H', locate, tsNs, [
      ['alpha', stock, 8],
      ['alpha', state, 1],
      ['alpha', ' ', 1], // reserved
      ['alpha', reason, 4],
    ]),
  regSho: (locate: number, tsNs: number, stock: string, action: string) =>
    message('Y', locate, tsNs, [
      ['alpha', stock, 8],
      ['alpha', action, 1],
    ]),
  participantPosition: (locate: number, tsNs: number, mpid: string, stock: string) =>
    message('L', locate, tsNs, [
      ['alpha', mpid, 4],
      ['alpha', stock, 8],
      ['alpha', 'Y', 1],
      ['alpha', 'N', 1],
      ['alpha', 'A', 1],
    ]),
  mwcbDecline: (tsNs: number, level1: number, level2: number, level3: number) =>
    message('V', 0, tsNs, [
      ['u64', level1],
      ['u64', level2],
      ['u64', level3],
    ]),
  mwcbStatus: (tsNs: number, level: string) => message('W', 0, tsNs, [['alpha', level, 1]]),
  ipoQuoting: (locate: number, tsNs: number, stock: string, price: number) =>
    message('K', locate, tsNs, [
      ['alpha', stock, 8],
      ['u32', 36_000],
      ['alpha', 'A', 1],
      ['u32', price],
    ]),
  luldCollar: (locate: number, tsNs: number, stock: string, reference: number) =>
    message('J', locate, tsNs, [
      ['alpha', stock, 8],
      ['u32', reference],
      ['u32', reference + 5000],
      ['u32', reference - 5000],
      ['u32', 1],
    ]),
  operationalHalt: (locate: number, tsNs: number, stock: string, action: 'H' | 'T') =>
    message('h', locate, tsNs, [
      ['alpha', stock, 8],
      ['alpha', 'Q', 1],
      ['alpha', action, 1],
    ]),
  addOrder: (
    locate: number,
    tsNs: number,
    ref: number,
    side: string,
    shares: number,
    stock: string,
    price: number,
  ) => message('A', locate, tsNs, orderBody(ref, side, shares, stock, price)),
  addOrderMpid: (
    locate: number,
    tsNs: number,
    ref: number,
    side: string,
    shares: number,
    stock: string,
    price: number,
    mpid: string,
  ) =>
    message('F', locate, tsNs, [...orderBody(ref, side, shares, stock, price), ['alpha', mpid, 4]]),
  executed: (locate: number, tsNs: number, ref: number, shares: number, match: number) =>
    message('E', locate, tsNs, executionBody(ref, shares, match)),
  executedWithPrice: (
    locate: number,
    tsNs: number,
    ref: number,
    shares: number,
    match: number,
    printable: 'Y' | 'N',
    price: number,
  ) =>
    message('C', locate, tsNs, [
      ...executionBody(ref, shares, match),
      ['alpha', printable, 1],
      ['u32', price],
    ]),
  cancel: (locate: number, tsNs: number, ref: number, shares: number) =>
    message('X', locate, tsNs, [
      ['u64', ref],
      ['u32', shares],
    ]),
  delete: (locate: number, tsNs: number, ref: number) => message('D', locate, tsNs, [['u64', ref]]),
  replace: (
    locate: number,
    tsNs: number,
    oldRef: number,
    newRef: number,
    shares: number,
    price: number,
  ) =>
    message('U', locate, tsNs, [
      ['u64', oldRef],
      ['u64', newRef],
      ['u32', shares],
      ['u32', price],
    ]),
  trade: (
    locate: number,
    tsNs: number,
    side: string,
    shares: number,
    stock: string,
    price: number,
    match: number,
  ) =>
    message('P', locate, tsNs, [
      ['u64', 0],
      ['alpha', side, 1],
      ['u32', shares],
      ['alpha', stock, 8],
      ['u32', price],
      ['u64', match],
    ]),
  crossTrade: (
    locate: number,
    tsNs: number,
    shares: number,
    stock: string,
    price: number,
    match: number,
    crossType: string,
  ) =>
    message('Q', locate, tsNs, [
      ['u64', shares],
      ['alpha', stock, 8],
      ['u32', price],
      ['u64', match],
      ['alpha', crossType, 1],
    ]),
  brokenTrade: (locate: number, tsNs: number, match: number) =>
    message('B', locate, tsNs, [['u64', match]]),
  imbalance: (locate: number, tsNs: number, stock: string, price: number) =>
    message('I', locate, tsNs, [
      ['u64', 1000],
      ['u64', 200],
      ['alpha', 'B', 1],
      ['alpha', stock, 8],
      ['u32', price],
      ['u32', price],
      ['u32', price],
      ['alpha', 'O', 1],
      ['alpha', 'L', 1],
    ]),
  retailInterest: (locate: number, tsNs: number, stock: string) =>
    message('N', locate, tsNs, [
      ['alpha', stock, 8],
      ['alpha', 'B', 1],
    ]),
  directListing: (locate: number, tsNs: number, stock: string, price: number) =>
    message('O', locate, tsNs, [
      ['alpha', stock, 8],
      ['alpha', 'Y', 1],
      ['u32', price - 1000],
      ['u32', price + 1000],
      ['u32', price],
      ['u64', 1],
      ['u32', price - 500],
      ['u32', price + 500],
    ]),
}

/** A file: each message preceded by its length, 2 bytes big-endian. */
export function itchFile(messages: readonly Uint8Array[]): Uint8Array {
  const total = messages.reduce((sum, m) => sum + 2 + m.length, 0)
  const out = new Uint8Array(total)
  let at = 0
  for (const m of messages) {
    out[at] = m.length >> 8
    out[at + 1] = m.length & 0xff
    out.set(m, at + 2)
    at += 2 + m.length
  }
  return out
}
