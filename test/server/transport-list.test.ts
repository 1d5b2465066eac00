import { expect, test } from 'vitest'
import { TRANSPORT_NAMES } from '../../src/server/transports/list.js'
import { startCluster } from '../helpers/cluster.js'
import { startServer } from '../helpers/server.js'

// The server names no transport outside transports/: what /healthz and /metrics list is the list.

test('/healthz and /metrics list exactly the transports of the list, by their names', async () => {
  const server = await startServer()
  expect(TRANSPORT_NAMES).toEqual(['sse', 'longpoll', 'ws'])
  const health = (await (await fetch(`${server.url}/healthz`)).json()) as Record<string, unknown>
  expect(Object.keys(health['connections'] as object)).toEqual([...TRANSPORT_NAMES])
  for (const name of TRANSPORT_NAMES) {
    expect(health[name]).toMatchObject({
      connections: 0,
      deliveries: expect.any(Number),
      bytesWritten: expect.any(Number),
      replayHits: 0,
      replayMisses: 0,
    })
  }
  expect(health).not.toHaveProperty('poll')
  const metrics = await (await fetch(`${server.url}/metrics`)).text()
  const labels = [...metrics.matchAll(/^tickstorm_connections\{transport="([^"]+)"\}/gm)].map(
    (match) => match[1],
  )
  expect(labels).toEqual([...TRANSPORT_NAMES])
})

test('a lone server and a cluster have the same shape; only the cluster says it has workers', async () => {
  const lone = await startServer({ speed: 0.001 })
  const cluster = await startCluster({ speed: 0.001 }, 2)
  expect(Object.keys(cluster).sort()).toEqual(Object.keys(lone).sort())
  expect([lone.workers, cluster.workers]).toEqual([1, 2])
  for (const server of [lone, cluster]) {
    expect(await server.dropClient('nobody')).toBe(0)
    expect((await server.health()).connections).toEqual({ sse: 0, longpoll: 0, ws: 0 })
    expect(await server.metrics()).toContain('tickstorm_connections{transport="longpoll"} 0')
  }
})
