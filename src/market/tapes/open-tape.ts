/**
 * Opens a tape of any supported format. The format is the caller's word when given; else the name
 * (LOBSTER's names are a convention its files always follow, `.dbn`, `ITCH`), else the first bytes
 * after decompression: `DBN` and a version is a DBN file, a 2-byte length matching the length of
 * the ITCH message type after it is an ITCH file. Anything else is refused rather than guessed.
 */

import { openByteSource } from './byte-source.js'
import { createDbnReader } from './dbn.js'
import { createItchReader, ITCH_MESSAGE_LENGTHS } from './itch.js'
import { isLobsterName, openLobster } from './lobster.js'
import {
  TAPE_FORMATS,
  type TapeFormat,
  type TapeReader,
  type TapeReaderOptions,
  tapeError,
} from './tape-event.js'

export interface OpenTapeOptions extends TapeReaderOptions {
  readonly format?: TapeFormat
}

const DBN_NAME = /\.dbn(\.zst|\.gz)?$/i
const ITCH_NAME = /itch/i

/** The format a file's name says, if it says one. */
export function formatFromName(path: string): TapeFormat | undefined {
  if (isLobsterName(path)) return 'lobster'
  const name = path.split('/').pop() ?? path
  if (DBN_NAME.test(name)) return 'dbn'
  if (ITCH_NAME.test(name)) return 'itch'
  return undefined
}

async function formatFromContent(path: string): Promise<TapeFormat | undefined> {
  const source = await openByteSource(path, 64)
  for await (const head of source) {
    if (head[0] === 0x44 && head[1] === 0x42 && head[2] === 0x4e && head.length >= 4) return 'dbn'
    if (head.length >= 3) {
      const length = (head[0]! << 8) | head[1]!
      const type = String.fromCharCode(head[2]!)
      if (ITCH_MESSAGE_LENGTHS[type] === length) return 'itch'
    }
    return undefined
  }
  return undefined
}

export async function openTape(path: string, options: OpenTapeOptions = {}): Promise<TapeReader> {
  const format = options.format ?? formatFromName(path) ?? (await formatFromContent(path))
  if (format === undefined) {
    throw tapeError(
      path,
      'byte 0',
      `expected a tape of a known format (${TAPE_FORMATS.join(', ')}): a LOBSTER file name, a DBN header or an ITCH 5.0 message; name the format to read it as one`,
    )
  }
  if (format === 'lobster') return openLobster(path, options)
  const source = await openByteSource(path, options.chunkBytes)
  return format === 'dbn' ? createDbnReader(source, options) : createItchReader(source, options)
}
