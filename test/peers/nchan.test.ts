import { EventSource } from 'eventsource'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import WebSocket from 'ws'
import { type Peer, startNchan } from '../helpers/peers.js'
import { waitForAsync } from '../helpers/wait-async.js'

/**
 * Debian's nchan, started from bench/peers/nchan.conf, does what the harness will ask of a peer:
 * one subscription to two channels gets each channel's events in order over EventSource,
 * WebSocket and long-poll, and a reconnect with Last-Event-ID replays what it missed.
 */
let nchan: Peer

beforeAll(async () => {
  nchan = await startNchan()
})

afterAll(async () => {
  await nchan?.stop()
})

interface Received {
  readonly id: string
  readonly data: string
}

function subscribe(channels: string, lastEventId?: string) {
  const received: Received[] = []
  const source = new EventSource(`${nchan.url}/sub/${channels}`, {
    fetch: (input, init) =>
      fetch(input, {
        ...init,
        headers: { ...init.headers, ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) },
      }),
  })
  source.onmessage = (event) => received.push({ id: event.lastEventId, data: event.data })
  const opened = new Promise<void>((resolve, reject) => {
    source.onopen = () => resolve()
    source.onerror = (error) => reject(new Error(`EventSource: ${error.message}`))
  })
  return { source, received, opened }
}

async function publishAll(messages: readonly (readonly [string, string])[]) {
  for (const [channel, data] of messages) await nchan.publish(channel, data)
}

describe('nchan (libnginx-mod-nchan) as a peer', () => {
  test('an EventSource on /sub/A,B gets both channels in publish order, with nchan ids', async () => {
    const { source, received, opened } = subscribe('SSEA,SSEB')
    await opened
    await publishAll([
      ['SSEA', 'a1'],
      ['SSEB', 'b1'],
      ['SSEA', 'a2'],
    ])
    await waitForAsync('3 events', async () => received.length >= 3)
    source.close()
    expect(received.map((event) => event.data)).toEqual(['a1', 'b1', 'a2'])
    // A multi-channel id is `<time>:<tag per channel>`, the one this event is on in brackets.
    expect(received.map((event) => event.id.replace(/^\d+:/, ''))).toEqual([
      '[0],-',
      '0,[0]',
      '[1],0',
    ])
  })

  test('a reconnect with Last-Event-ID gets the events published meanwhile, no gap', async () => {
    const first = subscribe('RESA,RESB')
    await first.opened
    await publishAll([
      ['RESA', 'a1'],
      ['RESB', 'b1'],
    ])
    await waitForAsync('2 events', async () => first.received.length >= 2)
    first.source.close()
    await publishAll([
      ['RESA', 'a2'],
      ['RESB', 'b2'],
      ['RESA', 'a3'],
    ])
    const second = subscribe('RESA,RESB', first.received.at(-1)!.id)
    await second.opened
    await waitForAsync('3 replayed events', async () => second.received.length >= 3)
    second.source.close()
    expect(second.received.map((event) => event.data)).toEqual(['a2', 'b2', 'a3'])
  })

  test('a WebSocket on /sub/A,B gets both channels in publish order', async () => {
    const socket = new WebSocket(`${nchan.url.replace('http', 'ws')}/sub/WSA,WSB`)
    const received: string[] = []
    socket.on('message', (data) => received.push(String(data)))
    await new Promise((resolve, reject) => {
      socket.once('open', resolve)
      socket.once('error', reject)
    })
    await publishAll([
      ['WSB', 'b1'],
      ['WSA', 'a1'],
      ['WSB', 'b2'],
    ])
    await waitForAsync('3 messages', async () => received.length >= 3)
    socket.close()
    expect(received).toEqual(['b1', 'a1', 'b2'])
  })

  test('long-poll: each poll with the last Etag and Last-Modified gets the next event, no gap', async () => {
    const url = `${nchan.url}/sub/LPA,LPB`
    const first = fetch(url)
    // nchan counts the waiting poll as a subscriber of the channel.
    await waitForAsync('the poll to wait', async () => {
      const response = await fetch(`${nchan.url}/pub/LPA`, {
        headers: { Accept: 'application/json' },
      })
      const info = (await response.json()) as { subscribers?: number }
      return response.ok && info.subscribers === 1
    })
    await publishAll([['LPA', 'a1']])
    const polled: string[] = []
    let response = await first
    polled.push(await response.text())
    // Published while no poll waits: the next polls must pick them up from the last position.
    await publishAll([
      ['LPB', 'b1'],
      ['LPA', 'a2'],
    ])
    for (let poll = 0; poll < 2; poll++) {
      response = await fetch(url, {
        headers: {
          'If-Modified-Since': response.headers.get('last-modified')!,
          'If-None-Match': response.headers.get('etag')!,
        },
      })
      expect(response.status).toBe(200)
      polled.push(await response.text())
    }
    expect(polled).toEqual(['a1', 'b1', 'a2'])
  })
})
