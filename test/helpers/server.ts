import { afterEach } from 'vitest'
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
