/**
 * The engine options a journal was written with: whether the accounts-and-risk layer ran
 * and the engine limits. They decide what events a command produces, so re-executing a
 * journal needs them; recording them next to the journal spares auditors and operators
 * from guessing (`exchange-audit --risk/--limits` only override).
 *
 * Stored outside the hash chain (sqlite: the journal_meta table) because it is a
 * description, not history: a false declaration cannot hide anything, since re-execution
 * with the wrong options diverges at the first command they affect.
 */
import { DEFAULT_LIMITS, EngineLimits } from '../core/limits';
import { ENGINE_SEMANTICS_LATEST, ENGINE_SEMANTICS_UNDECLARED, EngineSemantics, isEngineSemantics } from '../core/engine-semantics';

export interface EngineDeclaration {
  risk: boolean;
  limits: EngineLimits;
  /** What the engine emits (core/engine-semantics.ts); a declaration written before it existed reads as 1. */
  semantics: EngineSemantics;
}

export const ENGINE_META_KEY = 'engine';

/** The declaration of an engine configured with `risk` and (partial) `limits`. */
export function declareEngine(risk: boolean, limits: Partial<EngineLimits> = {}, semantics: EngineSemantics = ENGINE_SEMANTICS_LATEST): EngineDeclaration {
  return { risk, limits: { ...DEFAULT_LIMITS, ...limits }, semantics };
}

export function encodeDeclaration(declaration: EngineDeclaration): string {
  const limits: Record<string, number> = {};
  for (const key of Object.keys(DEFAULT_LIMITS).sort()) limits[key] = declaration.limits[key as keyof EngineLimits];
  return JSON.stringify({ risk: declaration.risk, limits, semantics: declaration.semantics });
}

/** Parses a stored declaration; throws a message naming what is wrong. */
export function decodeDeclaration(text: string): EngineDeclaration {
  const parsed = JSON.parse(text) as { risk?: unknown; limits?: Record<string, unknown>; semantics?: unknown };
  if (typeof parsed.risk !== 'boolean' || parsed.limits === undefined || parsed.limits === null || typeof parsed.limits !== 'object') {
    throw new Error(`engine declaration ${text.slice(0, 200)} is not { risk, limits }`);
  }
  const limits: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(parsed.limits)) {
    if (!(key in DEFAULT_LIMITS) || !Number.isSafeInteger(value)) throw new Error(`engine declaration: bad limit ${key}=${String(value)}`);
    limits[key] = value as number;
  }
  const semantics = parsed.semantics ?? ENGINE_SEMANTICS_UNDECLARED;
  if (!isEngineSemantics(semantics)) throw new Error(`engine declaration: unknown semantics ${String(parsed.semantics)} (this build knows 1..${ENGINE_SEMANTICS_LATEST})`);
  return { risk: parsed.risk, limits: limits as unknown as EngineLimits, semantics };
}

/** How `configured` differs from `declared`, one phrase per difference (empty: the same). */
export function declarationDifferences(declared: EngineDeclaration, configured: EngineDeclaration): string[] {
  const differences: string[] = [];
  if (declared.risk !== configured.risk) differences.push(`risk layer ${declared.risk ? 'on' : 'off'} in the journal, ${configured.risk ? 'on' : 'off'} here`);
  if (declared.semantics !== configured.semantics) differences.push(`engine semantics ${declared.semantics} in the journal, ${configured.semantics} here`);
  for (const key of Object.keys(DEFAULT_LIMITS) as Array<keyof EngineLimits>) {
    if (declared.limits[key] !== configured.limits[key]) differences.push(`limits.${key} ${declared.limits[key]} in the journal, ${configured.limits[key]} here`);
  }
  return differences;
}
