/**
 * A streaming HTTP/1.1 response reader for the harness's raw-socket subscribers: the status line
 * and headers, then the body as byte ranges, de-chunked when the response is chunked (RFC 9112
 * §7.1). It never copies body bytes and makes no view of them: `onBody` gets the read's own
 * bytes and a range, valid only during the call (the SSE reader keeps what it needs). On a
 * subscriber's hot path (one socket read per event when events are not framed) a view per read
 * and a string per chunk-size line were a measurable share of the harness's cost.
 */
export interface Http1ResponseHandlers {
  /** Header names are lowercase. Called once, before any body. */
  onHead(status: number, headers: ReadonlyMap<string, string>): void
  /** Body bytes `bytes[from, to)`, `from < to`. */
  onBody(bytes: Uint8Array, from: number, to: number): void
  /** The body ended by its own framing (last chunk, or Content-Length reached). */
  onEnd(): void
  onError(message: string): void
}

export interface Http1ResponseReader {
  /**
   * The next bytes of the response: `bytes[0, end)` (all of them by default). They need only be
   * valid during the call: the reader copies what it keeps (a head split across reads).
   */
  feed(bytes: Uint8Array, end?: number): void
}

const CR = 13
const LF = 10
const SEMICOLON = 0x3b
const SPACE = 0x20
const TAB = 0x09
/** At most 8 hex digits: chunks of up to 4 GiB, far past any SSE server's. */
const MAX_SIZE_DIGITS = 8
/** Headers larger than this are an error (they are a few hundred bytes from any SSE server). */
const MAX_HEAD_BYTES = 64 * 1024

const State = {
  Head: 0,
  ChunkSize: 1,
  ChunkData: 2,
  ChunkDataEnd: 3,
  Trailer: 4,
  Length: 5,
  UntilClose: 6,
  Done: 7,
} as const
type State = (typeof State)[keyof typeof State]

export function createHttp1ResponseReader(handlers: Http1ResponseHandlers): Http1ResponseReader {
  let state: State = State.Head
  let head: Uint8Array[] = []
  let headBytes = 0
  // The chunk-size line, read as it arrives (it may be split across reads): its value, digit
  // count, whether digits have ended (whitespace after them) and whether an extension began.
  let size = 0
  let sizeDigits = 0
  let sizeEnded = false
  let inExtension = false
  let sizeValid = true
  let remaining = 0
  let trailerLineEmpty = true

  const parseHead = (text: string): void => {
    const lines = text.split('\r\n')
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')
    if (match === null) {
      state = State.Done
      handlers.onError(`not an HTTP/1.1 status line: ${JSON.stringify(lines[0]?.slice(0, 80))}`)
      return
    }
    const headers = new Map<string, string>()
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!
      const colon = line.indexOf(':')
      if (colon > 0)
        headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
    }
    const status = Number(match[1])
    const chunked = (headers.get('transfer-encoding') ?? '').toLowerCase().includes('chunked')
    const length = headers.get('content-length')
    if (chunked) state = State.ChunkSize
    else if (length !== undefined) {
      remaining = Number(length)
      state = State.Length
    } else state = State.UntilClose
    handlers.onHead(status, headers)
    if (state === State.Length && remaining === 0) {
      state = State.Done
      handlers.onEnd()
    }
  }

  const feedHead = (bytes: Uint8Array): number => {
    // Find the blank line that ends the head, possibly split across reads.
    head.push(bytes)
    headBytes += bytes.length
    const all = head.length === 1 ? bytes : Buffer.concat(head)
    const text = Buffer.from(all.buffer, all.byteOffset, all.length).toString('latin1')
    const end = text.indexOf('\r\n\r\n')
    if (end < 0) {
      if (headBytes > MAX_HEAD_BYTES) {
        state = State.Done
        handlers.onError(`response head over ${MAX_HEAD_BYTES} bytes`)
      }
      // Kept across reads, so copied: the caller may reuse its read buffer.
      head = [all === bytes ? Buffer.from(bytes) : all]
      return bytes.length
    }
    head = []
    parseHead(text.slice(0, end))
    // Bytes of this read that belong to the body.
    return bytes.length - (all.length - (end + 4))
  }

  return {
    feed(bytes, end = bytes.length) {
      let i = 0
      if (state === State.Head) {
        i = feedHead(end === bytes.length ? bytes : bytes.subarray(0, end))
        if (state === State.Head) return
      }
      const n = end
      while (i < n && state !== State.Done) {
        switch (state) {
          case State.ChunkSize: {
            const byte = bytes[i++]!
            if (byte === LF) {
              if (!sizeValid || sizeDigits === 0) {
                state = State.Done
                handlers.onError('bad chunk size line')
                return
              }
              remaining = size
              size = 0
              sizeDigits = 0
              sizeEnded = false
              inExtension = false
              if (remaining === 0) {
                state = State.Trailer
                trailerLineEmpty = true
              } else state = State.ChunkData
            } else if (byte === CR || inExtension) {
              // The line's end, or a chunk extension (ignored).
            } else if (byte === SEMICOLON) inExtension = true
            else if (byte === SPACE || byte === TAB) sizeEnded = sizeDigits > 0
            else {
              const digit = hexDigit(byte)
              if (digit < 0 || sizeEnded || sizeDigits === MAX_SIZE_DIGITS) sizeValid = false
              else {
                size = size * 16 + digit
                sizeDigits++
              }
            }
            break
          }
          case State.ChunkData: {
            const take = Math.min(remaining, n - i)
            handlers.onBody(bytes, i, i + take)
            i += take
            remaining -= take
            if (remaining === 0) state = State.ChunkDataEnd
            break
          }
          case State.ChunkDataEnd: {
            // The CRLF after a chunk's data.
            if (bytes[i++] === LF) state = State.ChunkSize
            break
          }
          case State.Trailer: {
            const byte = bytes[i++]!
            if (byte === LF) {
              if (trailerLineEmpty) {
                state = State.Done
                handlers.onEnd()
              }
              trailerLineEmpty = true
            } else if (byte !== CR) trailerLineEmpty = false
            break
          }
          case State.Length: {
            const take = Math.min(remaining, n - i)
            handlers.onBody(bytes, i, i + take)
            i += take
            remaining -= take
            if (remaining === 0) {
              state = State.Done
              handlers.onEnd()
            }
            break
          }
          case State.UntilClose: {
            handlers.onBody(bytes, i, n)
            i = n
            break
          }
        }
      }
    },
  }
}

/** The value of an ASCII hex digit, or -1. */
function hexDigit(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30
  const lower = byte | 0x20
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10
  return -1
}
