import { type AddressInfo, createServer } from 'node:net'

/**
 * A port on 127.0.0.1 that was free a moment ago: for a process that must be told its port
 * before it starts (Prometheus, a receiver that is meant to be dead), not for our own servers,
 * which listen on port 0.
 */
export async function freePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}
