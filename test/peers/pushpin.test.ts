import { EventSource } from 'eventsource'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import WebSocket from 'ws'
import { type PushpinPeer, startPushpin } from '../helpers/peers.js'
import { waitForAsync } from '../helpers/wait-async.js'

/**
 * Debian's Pushpin, started from bench/peers/pushpin.conf in front of a GRIP origin, does what
 * the harness will ask of a peer: one EventSource, or one WebSocket (over HTTP to the origin),
 * subscribed to two channels gets each channel's published events, with the ids and data the
 * publisher gave, in publish order.
 */
let pushpin: PushpinPeer

beforeAll(async () => {
  pushpin = await startPushpin()
})

afterAll(async () => {
  await pushpin?.stop()
})

describe('Pushpin (Debian package) as a peer', () => {
  test('an EventSource on /sub/AAPL,MSFT gets both channels in publish order', async () => {
    const received: { id: string; data: string }[] = []
    const source = new EventSource(`${pushpin.url}/sub/AAPL,MSFT`)
    source.addEventListener('quote', (event) =>
      received.push({ id: event.lastEventId, data: event.data }),
    )
    // The stream opens before Pushpin's handler has subscribed it: wait for its subscriptions.
    await waitForAsync('the handler to subscribe the stream to AAPL and MSFT', async () =>
      ['AAPL', 'MSFT'].every((channel) => pushpin.subscriptions(channel) === 1),
    )
    await pushpin.publish('AAPL', '{"p":101}', 'AAPL-1')
    await pushpin.publish('MSFT', '{"p":202}', 'MSFT-1')
    await pushpin.publish('AAPL', '{"p":102}', 'AAPL-2')
    await waitForAsync('3 events', async () => received.length >= 3)
    source.close()
    expect(received).toEqual([
      { id: 'AAPL-1', data: '{"p":101}' },
      { id: 'MSFT-1', data: '{"p":202}' },
      { id: 'AAPL-2', data: '{"p":102}' },
    ])
  })

  test("a WebSocket on /sub/AAPL,MSFT gets both channels' ws-message content in publish order", async () => {
    const before = ['AAPL', 'MSFT'].map((channel) => pushpin.subscriptions(channel))
    const received: string[] = []
    const socket = new WebSocket(`${pushpin.url.replace(/^http/, 'ws')}/sub/AAPL,MSFT`)
    socket.on('message', (data, isBinary) =>
      received.push(`${isBinary ? 'binary:' : ''}${String(data)}`),
    )
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve())
      socket.once('error', reject)
    })
    // The socket opens when the origin accepts it; its subscriptions follow in the handler.
    await waitForAsync('the handler to subscribe the socket to AAPL and MSFT too', async () =>
      ['AAPL', 'MSFT'].every((channel, i) => pushpin.subscriptions(channel) === before[i]! + 1),
    )
    await pushpin.publish('MSFT', '{"p":203}', 'MSFT-2')
    await pushpin.publish('AAPL', '{"p":103}', 'AAPL-3')
    await pushpin.publish('MSFT', '{"p":204}', 'MSFT-3')
    await waitForAsync('3 messages', async () => received.length >= 3)
    socket.close()
    expect(received).toEqual(['{"p":203}', '{"p":103}', '{"p":204}'])
  })
})
