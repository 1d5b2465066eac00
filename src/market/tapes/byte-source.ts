/**
 * A tape file as a stream of byte chunks, decompressed on the fly: gzip by node:zlib, Zstandard by
 * fzstd's streaming decoder, each recognised by its magic bytes (RFC 1952 §2.3.1: 1f 8b; RFC 8878
 * §3.1.1: 28 b5 2f fd), never by trusting the name alone. Nothing is read whole: memory is one
 * read chunk plus what the decompressor holds (a zstd window).
 */

import { open, stat } from 'node:fs/promises'
import { createGunzip } from 'node:zlib'
import { Decompress } from 'fzstd'
import { ERROR_CODES, TickstormError } from '../../errors.js'
import { describeFileError } from '../../file-error.js'
import { tapeError } from './tape-event.js'

export type Compression = 'none' | 'gzip' | 'zstd'

const GZIP_MAGIC = [0x1f, 0x8b] as const
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd] as const
export const DEFAULT_CHUNK_BYTES = 1 << 20

export interface ByteSource extends AsyncIterable<Uint8Array> {
  readonly path: string
  readonly compression: Compression
  readonly fileSize: number
  /** Bytes read from the file so far (compressed, for a compressed tape). */
  readonly fileBytes: number
  /**
   * Set when the compressed stream ended early (a cut download): what the decompressor said. The
   * bytes before the cut were still delivered; the reader treats it as a truncated tape.
   */
  readonly cutShort: string | undefined
}

function startsWith(head: Uint8Array, magic: readonly number[]): boolean {
  return magic.every((byte, i) => head[i] === byte)
}

/** Opens `path`; fails with a one-line error for a missing or unreadable file. */
export async function openByteSource(
  path: string,
  chunkBytes = DEFAULT_CHUNK_BYTES,
): Promise<ByteSource> {
  let fileSize: number
  const head = new Uint8Array(4)
  let headBytes = 0
  try {
    fileSize = (await stat(path)).size
    const handle = await open(path, 'r')
    try {
      headBytes = (await handle.read(head, 0, 4, 0)).bytesRead
    } finally {
      await handle.close()
    }
  } catch (error) {
    throw new TickstormError(
      ERROR_CODES.INVALID_TAPE,
      `cannot read tape ${path}: ${describeFileError(error)}`,
      {
        cause: error,
      },
    )
  }
  const magicHead = head.subarray(0, headBytes)
  const compression: Compression = startsWith(magicHead, GZIP_MAGIC)
    ? 'gzip'
    : startsWith(magicHead, ZSTD_MAGIC)
      ? 'zstd'
      : 'none'
  if (compression === 'none' && /\.(gz|zst)$/i.test(path)) {
    const expected = /\.gz$/i.test(path) ? 'gzip magic 1f 8b' : 'zstd magic 28 b5 2f fd'
    throw tapeError(path, 'byte 0', `expected ${expected} for its extension, got ${hex(magicHead)}`)
  }

  let fileBytes = 0
  let cutShort: string | undefined

  async function* raw(): AsyncGenerator<Uint8Array> {
    const handle = await open(path, 'r')
    try {
      const stream = handle.createReadStream({ highWaterMark: Math.max(chunkBytes, 64 * 1024) })
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        fileBytes += chunk.length
        yield chunk
      }
    } finally {
      await handle.close()
    }
  }

  async function* gunzip(): AsyncGenerator<Uint8Array> {
    const inflate = createGunzip()
    const input = raw()
    let stopped = false
    // A drain that never comes (the reader stopped early and the inflater is gone) must not hold
    // the pump, or the file handle, forever: close ends the wait too.
    const writable = (): Promise<void> =>
      new Promise((resolve) => {
        const done = (): void => {
          inflate.off('drain', done)
          inflate.off('close', done)
          resolve()
        }
        inflate.on('drain', done)
        inflate.on('close', done)
      })
    // Feed by hand so a cut file shows up as zlib's "unexpected end of file" after the last byte,
    // which is a truncated tape, while any other zlib error is a corrupt one.
    const pump = (async () => {
      for await (const chunk of input) {
        if (stopped) break
        if (!inflate.write(chunk)) await writable()
      }
      if (!stopped) inflate.end()
    })()
    pump.catch((error: unknown) => inflate.destroy(error as Error))
    try {
      for await (const chunk of inflate as AsyncIterable<Buffer>) yield chunk
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'Z_BUF_ERROR') {
        cutShort = 'the gzip stream ends early'
        return
      }
      throw tapeError(
        path,
        `compressed byte ${fileBytes}`,
        `a valid gzip stream (${(error as Error).message})`,
      )
    } finally {
      stopped = true
      inflate.destroy()
    }
    await pump
  }

  async function* unzstd(): AsyncGenerator<Uint8Array> {
    const out: Uint8Array[] = []
    const decoder = new Decompress((chunk) => {
      out.push(chunk)
    })
    let pending: Uint8Array | undefined
    const push = (chunk: Uint8Array, final: boolean): void => {
      try {
        decoder.push(chunk, final)
      } catch (error) {
        throw tapeError(
          path,
          `compressed byte ${fileBytes}`,
          `a valid zstd stream (${(error as Error).message})`,
        )
      }
    }
    // One chunk of look-ahead: fzstd must be told which push is the last.
    for await (const chunk of raw()) {
      if (pending !== undefined) push(pending, false)
      pending = chunk
      yield* out.splice(0)
    }
    try {
      decoder.push(pending ?? new Uint8Array(0), true)
    } catch {
      // fzstd throws at the final push when a frame (or its checksum) is incomplete: a cut file.
      cutShort = 'the zstd stream ends early'
    }
    yield* out.splice(0)
  }

  async function* rechunk(): AsyncGenerator<Uint8Array> {
    const source = compression === 'gzip' ? gunzip() : compression === 'zstd' ? unzstd() : raw()
    for await (const chunk of source) {
      for (let at = 0; at < chunk.length; at += chunkBytes) {
        yield chunk.subarray(at, Math.min(chunk.length, at + chunkBytes))
      }
    }
  }

  return {
    path,
    compression,
    fileSize,
    get fileBytes() {
      return fileBytes
    },
    get cutShort() {
      return cutShort
    },
    [Symbol.asyncIterator]: () => rechunk(),
  }
}

function hex(bytes: Uint8Array): string {
  return bytes.length === 0
    ? 'an empty file'
    : [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ')
}
