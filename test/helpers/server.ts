import { afterAll, afterEach, beforeAll } from 'vitest'
import { createServer, type TickstormServer } from '../../src/server/server.js'
import type { ServerOptions } from '../../src/server/server-options.js'

const started: TickstormServer[] = []

/**
 * A real server on 127.0.0.1, any free port, closed after the test. Defaults favour fast tests:
 * a short `retry:` so clients reconnect at once, a lively market.
 */
export async function startServer(options: Partial<ServerOptions> = {}): Promise<TickstormServer> {
  const server = await createServer({ host: '127.0.0.1', port: 0, retryMs: 20, ...options })
  started.push(server)
  return server
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((server) => server.close()))
})

/**
 * One real server for every test of a file (tests that only read), started before the first and
 * closed after the last; call at the top level, then read it inside the tests.
 */
export function serverForFile(options: Partial<ServerOptions> = {}): () => TickstormServer {
  let server: TickstormServer | undefined
  beforeAll(async () => {
    server = await createServer({ host: '127.0.0.1', port: 0, ...options })
  })
  afterAll(async () => {
    await server?.close()
  })
  return () => {
    if (server === undefined) throw new Error('serverForFile: read the server inside a test')
    return server
  }
}
