import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createHttp1ResponseReader } from '../../src/harness/http1-response.js'
import { concatBytes, fuzzRuns, splitAt } from '../helpers/fuzz.js'

const encoder = new TextEncoder()

interface Seen {
  status: number
  headers: ReadonlyMap<string, string> | null
  body: Uint8Array[]
  ends: number
  errors: string[]
}

/**
 * Feeds `chunks` one by one through ONE reused buffer, as the SSE engine's shared read buffer
 * does: whatever the reader keeps past a call must be its own copy.
 */
function readResponse(chunks: readonly Uint8Array[]): Seen {
  const seen: Seen = { status: 0, headers: null, body: [], ends: 0, errors: [] }
  const reader = createHttp1ResponseReader({
    onHead(status, headers) {
      seen.status = status
      seen.headers = headers
    },
    onBody(bytes, from, to) {
      expect(from).toBeLessThan(to)
      seen.body.push(bytes.slice(from, to))
    },
    onEnd() {
      seen.ends++
    },
    onError(message) {
      seen.errors.push(message)
    },
  })
  const shared = new Uint8Array(Math.max(1, ...chunks.map((chunk) => chunk.length)) + 16)
  for (const chunk of chunks) {
    shared.fill(0x41) // stale bytes past the read, as in a reused buffer
    shared.set(chunk)
    reader.feed(shared, chunk.length)
  }
  return seen
}

const HEAD =
  'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n'

/** One chunk-size line in any of the spellings RFC 9112 allows (and servers write). */
const sizeLine = (size: number) =>
  fc
    .record({
      upper: fc.boolean(),
      zeros: fc.integer({ min: 0, max: 2 }),
      space: fc.constantFrom('', ' ', '\t '),
      extension: fc.constantFrom('', ';name=value', ';x'),
    })
    .map(({ upper, zeros, space, extension }) => {
      const hex = size.toString(16)
      const digits = `${'0'.repeat(Math.min(zeros, 8 - hex.length))}${upper ? hex.toUpperCase() : hex}`
      return `${digits}${space}${extension}\r\n`
    })

describe('createHttp1ResponseReader', () => {
  it('de-chunks any chunked body, split anywhere, through a reused read buffer', () => {
    const chunkBody = fc.uint8Array({ minLength: 1, maxLength: 300 })
    const response = fc
      .array(chunkBody, { maxLength: 8 })
      .chain((parts) =>
        fc
          .tuple(...parts.map((part) => sizeLine(part.length)), sizeLine(0))
          .map((lines) => ({ parts, lines })),
      )
    fc.assert(
      fc.property(response, fc.array(fc.nat(), { maxLength: 12 }), ({ parts, lines }, cuts) => {
        const wire = concatBytes([
          encoder.encode(HEAD),
          ...parts.flatMap((part, i) => [encoder.encode(lines[i]!), part, encoder.encode('\r\n')]),
          encoder.encode(`${lines[parts.length]!}\r\n`),
        ])
        const seen = readResponse(splitAt(wire, cuts))
        expect(seen.errors).toEqual([])
        expect(seen.status).toBe(200)
        expect(seen.headers?.get('content-type')).toBe('text/event-stream')
        expect(concatBytes(seen.body)).toEqual(concatBytes(parts))
        expect(seen.ends).toBe(1)
      }),
      fuzzRuns(300),
    )
  })

  it('reads a Content-Length body and ends at its length', () => {
    const body = encoder.encode('{"quotes":[]}')
    const wire = encoder.encode(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`)
    const seen = readResponse(splitAt(concatBytes([wire, body]), [5, wire.length + 3]))
    expect(new TextDecoder().decode(concatBytes(seen.body))).toBe('{"quotes":[]}')
    expect(seen.ends).toBe(1)
  })

  it.each([
    ['a non-hex digit', 'zz\r\n'],
    ['no digits', ';ext\r\n'],
    ['more than 8 digits', '100000000\r\n'],
    ['space between digits', '1 0\r\n'],
  ])('refuses a chunk-size line with %s', (_, line) => {
    const seen = readResponse([encoder.encode(`${HEAD}${line}0123456789abcdef\r\n0\r\n\r\n`)])
    expect(seen.errors).toEqual(['bad chunk size line'])
    expect(seen.body).toEqual([])
    expect(seen.ends).toBe(0)
  })

  it('refuses what is not an HTTP/1.1 response', () => {
    const seen = readResponse([encoder.encode('SSH-2.0-OpenSSH\r\n\r\n')])
    expect(seen.errors[0]).toMatch(/not an HTTP\/1\.1 status line/)
  })
})
