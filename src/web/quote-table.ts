import { changeParts, formatPercent, formatSize, priceParts } from './format.js'
import { writePrice } from './price-text.js'
import type { QuoteBook, SymbolState } from './quote-book.js'
import { createSparkline, type Sparkline } from './sparkline.js'

const FLASH_MS = 500
const FLASH_UP = 'rgba(52, 211, 153, 0.26)'
const FLASH_DOWN = 'rgba(248, 113, 113, 0.26)'

export interface QuoteTableHandlers {
  onSelect(symbol: string): void
  onRemove(symbol: string): void
}

export interface QuoteTable {
  /** Rebuilds the rows for this watch-list. */
  setSymbols(symbols: readonly string[], book: QuoteBook): void
  setSelected(symbol: string | null): void
  /** Updates the cells of rows that changed since the last call, flashing each change. */
  render(book: QuoteBook): void
  /** Redraws the sparklines whose history moved. */
  renderSparklines(book: QuoteBook): void
}

interface PriceCell {
  readonly cell: HTMLElement
  readonly price: HTMLElement
  readonly size: HTMLElement | null
  value: number
}

interface Row {
  readonly tr: HTMLTableRowElement
  readonly halted: HTMLElement
  readonly last: PriceCell
  readonly bid: PriceCell
  readonly ask: PriceCell
  /** The `.price` span of the change cell: a change has the decimals of its price. */
  readonly change: HTMLElement
  readonly percent: HTMLElement
  readonly sparkline: Sparkline
  drawnVersion: number
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text = '',
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  if (className !== '') node.className = className
  if (text !== '') node.textContent = text
  return node
}

function priceCell(column: string, withSize: boolean): PriceCell {
  const cell = element('td', `num ${column}`)
  cell.dataset['col'] = column
  const price = element('span', 'price')
  cell.append(price)
  const size = withSize ? element('span', 'size') : null
  if (size !== null) cell.append(size)
  return { cell, price, size, value: Number.NaN }
}

/**
 * Writes a price into its cell and, when it moved, flashes the cell green (up) or red (down).
 * The flash is a Web Animation on the cell, so a new tick simply starts a new one.
 */
function setPrice(target: PriceCell, value: number, tickSize: number, size: number | null): void {
  if (size !== null && target.size !== null) target.size.textContent = formatSize(size)
  if (value === target.value || (Number.isNaN(value) && Number.isNaN(target.value))) return
  const previous = target.value
  target.value = value
  writePrice(target.price, priceParts(value, tickSize))
  if (!Number.isFinite(previous) || !Number.isFinite(value)) return
  const up = value > previous
  target.cell.classList.toggle('up', up)
  target.cell.classList.toggle('down', !up)
  target.cell.animate(
    [{ backgroundColor: up ? FLASH_UP : FLASH_DOWN }, { backgroundColor: 'transparent' }],
    {
      duration: FLASH_MS,
      easing: 'ease-out',
    },
  )
}

const trendOf = (state: SymbolState): number => {
  const price = Number.isFinite(state.last) ? state.last : (state.bid + state.ask) / 2
  return price - state.reference
}

/** The watch-list table: last, change, bid and ask per symbol, a sparkline each. */
export function createQuoteTable(
  body: HTMLTableSectionElement,
  handlers: QuoteTableHandlers,
): QuoteTable {
  let rows = new Map<string, Row>()

  const buildRow = (state: SymbolState): Row => {
    const tr = element('tr', '')
    tr.dataset['symbol'] = state.symbol
    tr.tabIndex = 0
    const symbolCell = element('td', 'sym')
    const halted = element('span', 'badge', 'HALT')
    halted.hidden = true
    symbolCell.append(element('span', 'ticker', state.symbol), halted)
    const sparkCell = element('td', 'spark')
    const sparkBox = element('div', 'spark-box')
    sparkCell.append(sparkBox)
    const last = priceCell('last', false)
    const changeCell = element('td', 'num chg')
    const change = element('span', 'price')
    changeCell.append(change)
    const percent = element('td', 'num pct')
    const bid = priceCell('bid', true)
    const ask = priceCell('ask', true)
    const removeCell = element('td', 'remove')
    const remove = element('button', 'icon', '×')
    remove.type = 'button'
    remove.title = `Remove ${state.symbol}`
    remove.setAttribute('aria-label', `Remove ${state.symbol}`)
    remove.addEventListener('click', (event) => {
      event.stopPropagation()
      handlers.onRemove(state.symbol)
    })
    removeCell.append(remove)
    tr.append(symbolCell, sparkCell, last.cell, changeCell, percent, bid.cell, ask.cell, removeCell)
    const select = () => handlers.onSelect(state.symbol)
    tr.addEventListener('click', select)
    tr.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') select()
    })
    body.append(tr)
    const sparkline = createSparkline(sparkBox, state.history)
    return { tr, halted, last, bid, ask, change, percent, sparkline, drawnVersion: -1 }
  }

  return {
    setSymbols(symbols, book) {
      const next = new Map<string, Row>()
      for (const row of rows.values()) row.sparkline.destroy()
      body.replaceChildren()
      for (const symbol of symbols) {
        const state = book.get(symbol)
        if (state !== undefined) next.set(symbol, buildRow(state))
      }
      rows = next
    },
    setSelected(symbol) {
      for (const [name, row] of rows) row.tr.classList.toggle('selected', name === symbol)
    },
    render(book) {
      for (const [symbol, row] of rows) {
        const state = book.get(symbol)
        if (state === undefined || state.version === row.drawnVersion) continue
        row.drawnVersion = state.version
        setPrice(row.last, state.last, state.tickSize, null)
        setPrice(row.bid, state.bid, state.tickSize, state.bidSize)
        setPrice(row.ask, state.ask, state.tickSize, state.askSize)
        const change = trendOf(state)
        const direction = change > 0 ? 'up' : change < 0 ? 'down' : 'flat'
        writePrice(row.change, changeParts(change, state.tickSize))
        row.percent.textContent = formatPercent(change / state.reference)
        row.change.dataset['dir'] = direction
        row.percent.dataset['dir'] = direction
        row.halted.hidden = !state.halted
        row.tr.classList.toggle('halted', state.halted)
      }
    },
    renderSparklines(book) {
      for (const [symbol, row] of rows) {
        const state = book.get(symbol)
        if (state !== undefined) row.sparkline.update(trendOf(state) >= 0)
      }
    },
  }
}
