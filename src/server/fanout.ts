import type { FeedEvent, FeedFrame } from '../feed/feed-event.js'
import type { Subscription } from './subscription.js'

/**
 * Subscribers with the same symbol set, over any transport. Per frame the fan-out filters the
 * frame's events once per group (not once per subscriber); each transport then builds its bytes
 * once per group (an SSE batch, a long-poll body, a WebSocket message) and hands the same bytes
 * to every member.
 */
export interface Group<S> {
  /** Small unique number: names the group's WebSocket topic. */
  readonly id: number
  readonly subscription: Subscription
  /** This frame's events for the group, in sequence order (valid during delivery only). */
  readonly events: FeedEvent[]
  /** Per-transport member state. */
  readonly state: S
  /** Members over all transports; at zero the group is dropped. */
  refs: number
}

export interface Fanout<S> {
  /** The group for this symbol set, created if needed; the caller becomes a member (refs + 1). */
  acquire(subscription: Subscription): Group<S>
  /** Ends one membership; an empty group is unindexed at once, so one-off watch-lists don't pile up. */
  release(group: Group<S>): void
  /**
   * Filters a frame into its groups (cost: one push per event per group subscribed to its symbol)
   * and calls `deliver` once per group that got events.
   */
  publish(frame: FeedFrame, deliver: (group: Group<S>) => void): void
  readonly size: number
}

export function createFanout<S>(
  symbolCount: number,
  createState: (subscription: Subscription, id: number) => S,
): Fanout<S> {
  const groups = new Map<string, Group<S>>()
  const bySymbol: Group<S>[][] = Array.from({ length: symbolCount }, () => [])
  const touched: Group<S>[] = []
  let nextId = 1

  const listsOf = (subscription: Subscription): Group<S>[][] =>
    subscription.symbols === null ? bySymbol : subscription.symbols.map((s) => bySymbol[s]!)

  return {
    get size() {
      return groups.size
    },
    acquire(subscription) {
      let group = groups.get(subscription.key)
      if (group === undefined) {
        const id = nextId++
        group = { id, subscription, events: [], state: createState(subscription, id), refs: 0 }
        groups.set(subscription.key, group)
        for (const list of listsOf(subscription)) list.push(group)
      }
      group.refs++
      return group
    },
    release(group) {
      group.refs--
      if (group.refs > 0 || groups.get(group.subscription.key) !== group) return
      groups.delete(group.subscription.key)
      for (const list of listsOf(group.subscription)) list.splice(list.indexOf(group), 1)
    },
    publish(frame, deliver) {
      const events = frame.events
      for (let i = 0; i < events.length; i++) {
        const event = events[i]!
        const list = bySymbol[event.symbol]!
        for (let j = 0; j < list.length; j++) {
          const group = list[j]!
          if (group.events.length === 0) touched.push(group)
          group.events.push(event)
        }
      }
      for (let g = 0; g < touched.length; g++) {
        const group = touched[g]!
        deliver(group)
        group.events.length = 0
      }
      touched.length = 0
    },
  }
}
