/** SPEC section 3, `currency`: an opportunity's transaction currency as its ISO code. */
import { lookupProperty, toGuid, type RawRecord } from '../dynamics';
import { BadFieldError, readLookup } from './fields';
import { TEXT_LIMITS, truncate } from './text';
import type { Currencies } from './types';

/** transactioncurrencies rows → id → ISO code; a row without a readable id or code names no currency. */
export function parseCurrencies(rows: RawRecord[]): Map<string, string> {
  const currencies = new Map<string, string>();
  for (const row of rows) {
    const id = toGuid(row.transactioncurrencyid);
    const code = row.isocurrencycode;
    if (!id || typeof code !== 'string' || code.trim() === '') continue;
    currencies.set(id, truncate(code.trim(), TEXT_LIMITS.short));
  }
  return currencies;
}

const CURRENCY_LOOKUP = 'transactioncurrencyid';

/**
 * The ISO code of the opportunity's transaction currency: null when it has none (no money values); a currency
 * the organisation's table does not name makes the opportunity unmappable.
 */
export function readCurrency(raw: RawRecord, currencies: Currencies): string | null {
  const lookup = readLookup(raw, CURRENCY_LOOKUP);
  if (lookup === null) return null;
  const code = currencies.get(lookup.id);
  if (code === undefined) {
    throw new BadFieldError(
      `${lookupProperty(CURRENCY_LOOKUP)} ${lookup.id} is not a currency of transactioncurrencies`,
    );
  }
  return code;
}

/** Whether some opportunity points to a currency that `currencies` does not name (a currency added since). */
export function hasUnknownCurrency(opportunities: RawRecord[], currencies: Currencies): boolean {
  const key = lookupProperty(CURRENCY_LOOKUP);
  return opportunities.some((raw) => {
    const id = toGuid(raw[key]);
    return id !== undefined && !currencies.has(id);
  });
}
