import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * The backend Pushpin proxies to: it answers `GET /sub/AAPL,MSFT` with GRIP hold instructions, so
 * Pushpin keeps the connection open as an event stream subscribed to those channels, and
 * `GET /ready` with a plain 200 (a request that went the whole way through Pushpin).
 */
export interface GripOrigin {
  readonly port: number
  close(): Promise<void>
}

export async function createGripOrigin(): Promise<GripOrigin> {
  const server: Server = createServer((request, response) => {
    const match = /^\/sub\/([\w,]+)$/.exec(request.url ?? '')
    if (match === null) {
      response.writeHead(request.url === '/ready' ? 200 : 404, { 'Content-Type': 'text/plain' })
      response.end(request.url === '/ready' ? 'ready\n' : 'not found\n')
      return
    }
    response.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      'Grip-Hold': 'stream',
      'Grip-Channel': match[1]!.split(',').join(', '),
    })
    // The initial body opens the stream before any publish; a comment line carries no event.
    response.end(':subscribed\n\n')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    port,
    close: () => {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
