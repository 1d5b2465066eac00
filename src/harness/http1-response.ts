/**
 * A streaming HTTP/1.1 response reader for the harness's raw-socket subscribers: the status line
 * and headers, then the body as byte views, de-chunked when the response is chunked (RFC 9112
 * §7.1). It never copies body bytes; the views are only valid during the callback (the SSE parser
 * keeps what it needs).
 */
export interface Http1ResponseHandlers {
  /** Header names are lowercase. Called once, before any body. */
  onHead(status: number, headers: ReadonlyMap<string, string>): void
  onBody(chunk: Uint8Array): void
  /** The body ended by its own framing (last chunk, or Content-Length reached). */
  onEnd(): void
  onError(message: string): void
}

export interface Http1ResponseReader {
  feed(bytes: Uint8Array): void
}

const CR = 13
const LF = 10
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
  let sizeText = ''
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
      head = [all]
      return bytes.length
    }
    head = []
    parseHead(text.slice(0, end))
    // Bytes of this read that belong to the body.
    return bytes.length - (all.length - (end + 4))
  }

  return {
    feed(bytes) {
      let i = 0
      if (state === State.Head) {
        i = feedHead(bytes)
        if (state === State.Head) return
      }
      const n = bytes.length
      while (i < n && state !== State.Done) {
        switch (state) {
          case State.ChunkSize: {
            const byte = bytes[i++]!
            if (byte === LF) {
              const semicolon = sizeText.indexOf(';')
              const hex = (semicolon >= 0 ? sizeText.slice(0, semicolon) : sizeText).trim()
              sizeText = ''
              if (!/^[0-9a-fA-F]{1,8}$/.test(hex)) {
                state = State.Done
                handlers.onError(`bad chunk size ${JSON.stringify(hex)}`)
                return
              }
              remaining = Number.parseInt(hex, 16)
              if (remaining === 0) {
                state = State.Trailer
                trailerLineEmpty = true
              } else state = State.ChunkData
            } else if (byte !== CR) sizeText += String.fromCharCode(byte)
            break
          }
          case State.ChunkData: {
            const take = Math.min(remaining, n - i)
            handlers.onBody(bytes.subarray(i, i + take))
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
            handlers.onBody(bytes.subarray(i, i + take))
            i += take
            remaining -= take
            if (remaining === 0) {
              state = State.Done
              handlers.onEnd()
            }
            break
          }
          case State.UntilClose: {
            handlers.onBody(bytes.subarray(i))
            i = n
            break
          }
        }
      }
    },
  }
}
