import { EventSource } from 'eventsource'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type PushpinPeer, startPushpin } from '../helpers/peers.js'
import { waitForAsync } from '../helpers/wait-async.js'

/**
 * Debian's Pushpin, started from bench/peers/pushpin.conf in front of a GRIP origin, does what
 * the harness will ask of a peer: one EventSource subscribed to two channels gets each channel's
 * published events, with the ids and data the publisher gave, in publish order.
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
})
