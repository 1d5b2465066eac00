/** The default watch-list: the most active names (the server lists them first). */
export const DEFAULT_WATCH_SIZE = 8
/** A bound on the table (and on the subscription's URL). */
export const MAX_WATCH_SIZE = 30
const STORAGE_KEY = 'tickstorm.watchList'

/**
 * The watch-list to start with: `?symbols=` in the page's URL, else the last one this browser
 * used, else the most active names. Unknown names are dropped, so a list saved against a bigger
 * universe still works.
 */
export function initialWatchList(universe: readonly string[], search: string): string[] {
  const known = new Set(universe)
  const clean = (names: readonly string[]) =>
    [...new Set(names.map((name) => name.trim().toUpperCase()))]
      .filter((name) => known.has(name))
      .slice(0, MAX_WATCH_SIZE)
  const fromUrl = new URLSearchParams(search).get('symbols')
  if (fromUrl !== null) {
    const list = clean(fromUrl.split(','))
    if (list.length > 0) return list
  }
  try {
    const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null') as unknown
    if (Array.isArray(saved)) {
      const list = clean(saved.filter((name): name is string => typeof name === 'string'))
      if (list.length > 0) return list
    }
  } catch {
    // Storage can be disabled or hold something else: fall back to the defaults.
  }
  return universe.slice(0, DEFAULT_WATCH_SIZE)
}

export function saveWatchList(symbols: readonly string[]): void {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(symbols))
  } catch {
    // Not saved (private mode, quota): the page works the same without it.
  }
}

/**
 * The "add a symbol" form: a text input completed from the universe (a `<datalist>`), adding on
 * submit. Reports a name that is not in the universe instead of subscribing to it.
 */
export function bindSymbolPicker(
  form: HTMLFormElement,
  universe: readonly string[],
  onAdd: (symbol: string) => string | null,
): void {
  const input = form.querySelector('input')!
  const list = form.querySelector('datalist')!
  list.replaceChildren(
    ...universe.map((symbol) => {
      const option = document.createElement('option')
      option.value = symbol
      return option
    }),
  )
  const known = new Set(universe)
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const symbol = input.value.trim().toUpperCase()
    if (symbol === '') return
    const problem = known.has(symbol) ? onAdd(symbol) : `${symbol} is not a listed symbol`
    input.setCustomValidity(problem ?? '')
    input.reportValidity()
    if (problem === null) input.value = ''
  })
  input.addEventListener('input', () => input.setCustomValidity(''))
}
