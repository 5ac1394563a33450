/**
 * Engine semantics: which events the engine emits for a given command. A journal is
 * re-executed (recovery, standby, `exchange-audit reexecute`) and every event compared byte
 * for byte, so a change to what the engine emits is versioned: a journal records the semantics
 * it was written under (journal/engine-declaration.ts) and is always re-executed under them; a
 * new journal is written under the latest.
 *
 *   1  the first release.
 *   2  PositionChanged carries reservedTotal, the account's reserved cash after the fill. A fill
 *      shrinks its order's hold; under 1 no event said so, and a consumer of the event stream
 *      could not know an account's reserved cash after a fill.
 *
 * A journal keeps its semantics for life (the engine never switches mid-journal); a deployment
 * that wants the latest starts a new data directory.
 */
export type EngineSemantics = 1 | 2;

export const ENGINE_SEMANTICS_LATEST: EngineSemantics = 2;

/** What a journal that records no semantics was written under. */
export const ENGINE_SEMANTICS_UNDECLARED: EngineSemantics = 1;

export function isEngineSemantics(value: unknown): value is EngineSemantics {
  return value === 1 || value === 2;
}
