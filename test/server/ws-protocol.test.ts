import type { IncomingMessage } from 'node:http'
import { describe, expect, test } from 'vitest'
import WebSocket from 'ws'
import { startServer } from '../helpers/server.js'
import { wsExchange } from '../helpers/transport-clients.js'

interface Handshake {
  /** The Sec-WebSocket-Protocol the server answered with, if any. */
  readonly protocol: string | undefined
  /** How the `ws` client took it: open, or the error it failed the connection with. */
  readonly outcome: 'open' | string
}

/** Upgrades with `ws`, offering `protocols`, and reports the server's answer and the client's verdict. */
async function handshake(url: string, protocols?: string[]): Promise<Handshake> {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, protocols)
  let protocol: string | undefined
  socket.once('upgrade', (response: IncomingMessage) => {
    protocol = response.headers['sec-websocket-protocol'] as string | undefined
  })
  const outcome = await new Promise<string>((resolve) => {
    socket.once('open', () => resolve('open'))
    socket.once('error', (error) => resolve(error.message))
  })
  socket.terminate()
  return { protocol, outcome }
}

describe('WebSocket subprotocols (RFC 6455 §4.2.2)', () => {
  test('a subprotocol the server does not speak is never echoed; the client decides', async () => {
    const server = await startServer()
    for (const offered of [['graphql-ws'], ['mqtt', 'wamp.2.json', 'chat']]) {
      const answer = await handshake(server.url, offered)
      expect(answer.protocol, offered.join(',')).toBeUndefined()
      // `ws`, like a browser, fails a connection whose required subprotocol was not agreed to.
      expect(answer.outcome).toBe('Server sent no subprotocol')
    }
  })

  test('a client that offers none gets none and opens as before', async () => {
    const server = await startServer()
    expect(await handshake(server.url)).toEqual({ protocol: undefined, outcome: 'open' })
  })
})

describe('WebSocket messages that are JSON but not an operation', () => {
  test.each(['[1,2]', '"subscribe"', '42', 'null', '{}', '{"symbols":["AAPL"]}'])(
    '%s: TS_ERR_BAD_MESSAGE saying a message is a JSON object with an "op" field',
    async (message) => {
      const server = await startServer()
      const { received, socket } = await wsExchange(server.url, [message], 1)
      socket.terminate()
      expect(received[0]).toEqual({
        op: 'error',
        code: 'TS_ERR_BAD_MESSAGE',
        message: expect.stringContaining('a message must be a JSON object with an "op" field'),
      })
    },
  )
})
