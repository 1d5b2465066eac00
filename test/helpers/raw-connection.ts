import { connect, type Socket } from 'node:net'
import { afterEach, expect } from 'vitest'
import { waitFor } from './wait.js'

/** How the server ended a connection: a FIN (clean close) or a reset (RST: ECONNRESET, EPIPE). */
export type ConnectionEnd = 'fin' | 'reset'

export interface RawEnd {
  readonly end: ConnectionEnd
  /** Every byte the server sent before it ended the connection. */
  readonly received: Buffer
}

export interface RawConnection {
  /** Every byte the server sent so far. */
  received(): Buffer
  /** How the server ended the connection, or `undefined` while it is open. */
  ended(): ConnectionEnd | undefined
  /** Writes bytes exactly as given (no framing of any kind). */
  write(bytes: string | Uint8Array): void
  /**
   * Resolves once the server ended the connection; rejects with `still open after …` when
   * `withinMs` passes first. A timer bounds every wait here: nothing sleeps.
   */
  closed(withinMs: number): Promise<RawEnd>
  /**
   * Resolves with the bytes once at least `bytes` of them arrived; rejects with what did arrive
   * when the server ended the connection first or `withinMs` passed.
   */
  receivedAtLeast(bytes: number, withinMs: number): Promise<Buffer>
  /** Resets our side (no TIME_WAIT left behind); safe to call twice. */
  destroy(): void
}

const open: Set<RawConnection> = new Set()

/**
 * A plain TCP connection to 127.0.0.1:`port` for bytes no HTTP client would send: what the server
 * answers, and how it ends the connection, are read off the wire as they are.
 */
export async function openRaw(port: number): Promise<RawConnection> {
  const socket: Socket = connect({ host: '127.0.0.1', port })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  const chunks: Buffer[] = []
  let end: ConnectionEnd | undefined
  const listeners = new Set<() => void>()
  const changed = () => {
    for (const listener of listeners) listener()
  }
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk)
    changed()
  })
  socket.on('end', () => {
    end ??= 'fin'
    changed()
  })
  socket.on('error', () => {
    // ECONNRESET on read, EPIPE on a write after the server reset: both mean an RST came.
    end ??= 'reset'
    changed()
  })
  const received = () => Buffer.concat(chunks)

  /** Resolves with `value()` once `done()` holds; rejects with `why()` after `withinMs`. */
  const until = <T>(done: () => boolean, value: () => T, why: () => string, withinMs: number) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        if (!done()) return
        clearTimeout(timer)
        listeners.delete(check)
        try {
          resolve(value())
        } catch (error) {
          reject(error)
        }
      }
      const timer = setTimeout(() => {
        listeners.delete(check)
        reject(new Error(why()))
      }, withinMs)
      listeners.add(check)
      check()
    })

  const connection: RawConnection = {
    received,
    ended: () => end,
    write(bytes) {
      if (end === undefined) socket.write(bytes)
    },
    closed: (withinMs) =>
      until(
        () => end !== undefined,
        () => ({ end: end!, received: received() }),
        () =>
          `still open after ${withinMs} ms, ${received().length} bytes received: ` +
          JSON.stringify(received().toString('latin1').slice(0, 120)),
        withinMs,
      ),
    receivedAtLeast: (bytes, withinMs) =>
      until(
        () => received().length >= bytes || end !== undefined,
        () => {
          if (received().length < bytes) {
            throw new Error(`connection ended (${end}) after ${received().length} bytes`)
          }
          return received()
        },
        () => `${received().length} of ${bytes} bytes after ${withinMs} ms`,
        withinMs,
      ),
    destroy() {
      open.delete(connection)
      if (!socket.destroyed) socket.resetAndDestroy()
    },
  }
  open.add(connection)
  return connection
}

/**
 * Writes `request` on a fresh connection and reads, as latin1 text, until `done(text)` holds;
 * the connection is reset after. For what fetch would hide: exact headers, chunk framing.
 */
export async function rawExchange(
  port: number,
  request: string,
  done: (text: string) => boolean,
): Promise<string> {
  const connection = await openRaw(port)
  const text = () => connection.received().toString('latin1')
  try {
    connection.write(request)
    await waitFor('the raw response', () => done(text()), { state: () => text().slice(0, 400) })
    return text()
  } finally {
    connection.destroy()
  }
}

// Every raw connection a test opened is reset after it, whatever the test did.
afterEach(() => {
  for (const connection of open) connection.destroy()
})

/** How long a request is watched for an answer that must not come: long enough on loopback. */
export const QUIET_MS = 200

/** uWS closes a connection once the head it could not parse yet reaches this (HttpParser.h, MAX_FALLBACK_SIZE). */
export const UWS_HEAD_BUFFER_BYTES = 4096

/**
 * Asserts that uWS holds what was sent as a request head still arriving: no byte comes back
 * within `quietMs`, the connection stays open, and once the buffered bytes reach 4 KiB uWS
 * closes it (FIN) without a byte. Without that push it would wait for its idle timeout (8–12 s).
 */
export async function expectHeldAsUnfinishedHead(
  connection: RawConnection,
  sentBytes: number,
  options: { quietMs?: number; closeMs: number },
): Promise<void> {
  const quietMs = options.quietMs ?? QUIET_MS
  await expect(connection.closed(quietMs)).rejects.toThrow(/^still open after/)
  expect(connection.received().length).toBe(0)
  connection.write('x'.repeat(Math.max(0, UWS_HEAD_BUFFER_BYTES - sentBytes)))
  const { end, received } = await connection.closed(options.closeMs)
  expect({ end, bytes: received.length }).toEqual({ end: 'fin', bytes: 0 })
}
