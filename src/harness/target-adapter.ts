/**
 * The adapter of a scenario's target, and where its events come from. `target: embedded` and a
 * bare `{ url }` are tickstorm; every other kind names its adapter.
 */

import type { Scenario } from './scenario.js'
import type { EventSource, TargetAdapter } from './targets/adapter.js'
import { createGenericAdapter } from './targets/generic.js'
import { createNchanAdapter } from './targets/nchan.js'
import { createPushpinAdapter } from './targets/pushpin.js'
import { createTickstormAdapter } from './targets/tickstorm.js'

type TargetObject = Exclude<Scenario['target'], 'embedded'>

export function adapterFor(scenario: Scenario): TargetAdapter {
  const target = scenario.target
  if (target === 'embedded') return createTickstormAdapter({ headers: {}, query: {}, auth: null })
  const headers = requestHeaders(target)
  const query = { ...target.query }
  switch (target.kind) {
    case 'tickstorm':
      return createTickstormAdapter({ headers, query, auth: target.auth ?? null })
    case 'nchan':
      return createNchanAdapter({ url: target.url, headers, query })
    case 'pushpin':
      return createPushpinAdapter({
        url: target.url,
        // Checked when the scenario is read: a Pushpin target names its control API.
        publishUrl: target.publishUrl ?? '',
        ...(target.origin === undefined ? {} : { origin: target.origin }),
        headers,
        query,
      })
    case 'generic':
      return createGenericAdapter({
        url: target.url,
        headers,
        query,
        sse: target.sse,
        ws: target.ws,
        longpoll: target.longpoll,
        publish: target.publish,
        event: target.event,
      })
  }
}

/** The target's headers, its cookies as one Cookie header beside them. */
function requestHeaders(target: TargetObject): Record<string, string> {
  const headers: Record<string, string> = { ...target.headers }
  const cookies = Object.entries(target.cookies)
  if (cookies.length > 0) {
    headers['Cookie'] = cookies.map(([name, value]) => `${name}=${value}`).join('; ')
  }
  return headers
}

/** Where the scenario's events come from: as it says, else the target kind's default. */
export function sourceOf(scenario: Scenario, adapter: TargetAdapter): EventSource {
  return scenario.source ?? adapter.defaultSource
}
