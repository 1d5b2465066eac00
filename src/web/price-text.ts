import type { PriceParts } from './format.js'

/**
 * Writes a price into `node` as its grid digits and a `.sub` span for the digits past the tick
 * (empty for a price on the grid). The span is always there, so a column can keep a slot for it
 * in CSS and its decimal points line up whether or not a row has a sub-penny print; the node's
 * text stays the plain number ("189.125"), which is what copy and paste and the tests read.
 */
export function writePrice(node: HTMLElement, parts: PriceParts): void {
  const first = node.firstChild
  const last = node.lastElementChild
  if (first instanceof Text && last !== null && last.classList.contains('sub')) {
    if (first.data !== parts.grid) first.data = parts.grid
    if (last.textContent !== parts.subTick) last.textContent = parts.subTick
    return
  }
  const sub = document.createElement('span')
  sub.className = 'sub'
  sub.textContent = parts.subTick
  node.replaceChildren(document.createTextNode(parts.grid), sub)
}
