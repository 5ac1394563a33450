/**
 * Symbols and prices for humans: the CLI (and any SDK user) names instruments by
 * symbol and writes prices as decimals ("100.50"); the wire carries instrument ids
 * and integer prices in the instrument's minor unit (cents by default, see
 * docs/matching.md). The symbol table defaults to the default config's instruments
 * (core/runtime/config.ts); numeric ids are always accepted.
 */
import { defaultConfig } from '../../core/runtime/config';

export interface InstrumentRef {
  readonly id: number;
  readonly symbol: string;
}

export class InstrumentDirectory {
  private readonly bySymbol = new Map<string, InstrumentRef>();
  private readonly byId = new Map<number, InstrumentRef>();

  constructor(instruments: readonly InstrumentRef[] = defaultConfig().instruments) {
    for (const { id, symbol } of instruments) {
      const ref = Object.freeze({ id, symbol });
      this.bySymbol.set(symbol.toUpperCase(), ref);
      this.byId.set(id, ref);
    }
  }

  /** The instrument id of a symbol (case-insensitive) or a numeric id ("1", "#1"). Throws for an unknown symbol. */
  resolve(text: string): number {
    const trimmed = text.trim();
    const numeric = /^#?(\d+)$/.exec(trimmed);
    if (numeric !== null) {
      const id = Number(numeric[1]);
      if (!Number.isSafeInteger(id) || id < 1 || id > 0xffffffff) throw new RangeError(`instrument id ${trimmed} is not a u32 >= 1`);
      return id;
    }
    const ref = this.bySymbol.get(trimmed.toUpperCase());
    if (ref === undefined) {
      throw new RangeError(`unknown symbol "${trimmed}" (known: ${[...this.bySymbol.keys()].join(', ')}; or pass a numeric instrument id)`);
    }
    return ref.id;
  }

  /** The symbol of an id, or "#id" when the directory does not know it. */
  symbolOf(id: number): string {
    return this.byId.get(id)?.symbol ?? `#${id}`;
  }
}

/** "100.50" -> 10050 with 2 decimals. Refuses more decimals than the unit has, signs, exponents and unsafe results. */
export function parsePrice(text: string, decimals = 2): number {
  const match = /^(\d+)(?:\.(\d*))?$/.exec(text.trim());
  if (match === null) throw new RangeError(`price "${text}" is not a non-negative decimal number`);
  const fraction = match[2] ?? '';
  if (fraction.length > decimals) throw new RangeError(`price "${text}" has more than ${decimals} decimal places`);
  const units = Number(match[1] + fraction.padEnd(decimals, '0'));
  if (!Number.isSafeInteger(units)) throw new RangeError(`price "${text}" is too large`);
  return units;
}

/** 10050 -> "100.50" with 2 decimals. */
export function formatPrice(units: number, decimals = 2): string {
  if (decimals === 0) return String(units);
  const negative = units < 0;
  const digits = String(Math.abs(units)).padStart(decimals + 1, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
}

/** A positive integer quantity. */
export function parseQuantity(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new RangeError(`quantity "${text}" is not a positive integer`);
  const quantity = Number(text);
  if (!Number.isSafeInteger(quantity) || quantity < 1) throw new RangeError(`quantity "${text}" is not a positive safe integer`);
  return quantity;
}
