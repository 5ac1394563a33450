/**
 * The engine options of an EventStoreDB journal (risk, limits, semantics: engine-declaration.ts),
 * in their own stream `journal-<instance>-engine`: one event, written once by the exchange's
 * replicator from the local journal's declaration, read by `exchange-audit` and by a standby
 * following the stream. The batch stream itself stays records only.
 *
 * Written with expected revision "no stream": a second writer with the same options is a no-op
 * (same deterministic event id); one with other options is refused, since the stream's history
 * can only be re-executed under the options it was written with.
 */
import { createHash } from 'node:crypto';
import { decodeDeclaration, declarationDifferences, EngineDeclaration, encodeDeclaration } from './engine-declaration';
import { ESDB_ERROR_TYPES, EventStoreClientLike, journalStreamName, uuidFromDigest } from './eventstore-journal';
import { journalError } from './journal';

export const ESDB_ENGINE_EVENT_TYPE = 'EngineDeclaration';

export function engineStreamName(instanceId: string): string {
  return `${journalStreamName(instanceId)}-engine`;
}

function eventId(instanceId: string): string {
  return uuidFromDigest(createHash('sha256').update(`${instanceId}:engine-declaration`).digest());
}

const typeOf = (error: unknown): unknown => (error as { type?: unknown } | null)?.type;

/** The declaration the stream holds, or undefined when there is none (an older deployment). */
export async function readEngineStream(client: EventStoreClientLike, instanceId: string): Promise<EngineDeclaration | undefined> {
  try {
    for await (const resolved of client.readStream(engineStreamName(instanceId), { fromRevision: 'start', direction: 'forwards', maxCount: 1 })) {
      const data = resolved.event?.data;
      if (!(data instanceof Uint8Array)) throw new Error('not a binary event');
      return decodeDeclaration(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
    }
    return undefined;
  } catch (error) {
    if (typeOf(error) === ESDB_ERROR_TYPES.streamNotFound) return undefined;
    throw journalError('JOURNAL_CORRUPT', `${engineStreamName(instanceId)}: ${(error as Error).message ?? String(error)}`);
  }
}

/** Records `declaration` once; refuses a stream that already declares other options. */
export async function writeEngineStream(client: EventStoreClientLike, instanceId: string, declaration: EngineDeclaration): Promise<void> {
  const existing = await readEngineStream(client, instanceId);
  if (existing === undefined) {
    try {
      await client.appendToStream(engineStreamName(instanceId), [{
        id: eventId(instanceId), contentType: 'application/octet-stream', type: ESDB_ENGINE_EVENT_TYPE,
        data: Buffer.from(encodeDeclaration(declaration), 'utf8'), metadata: undefined,
      }], { expectedRevision: 'no_stream' });
      return;
    } catch (error) {
      if (typeOf(error) !== ESDB_ERROR_TYPES.wrongExpectedVersion) throw error;
      // Another writer declared first: fall through and compare with what it wrote.
    }
  }
  const declared = existing ?? await readEngineStream(client, instanceId);
  const differences = declared === undefined ? ['the stream vanished'] : declarationDifferences(declared, declaration);
  if (differences.length > 0) {
    throw journalError('JOURNAL_FENCED', `${engineStreamName(instanceId)} declares other engine options than the local journal: ${differences.join('; ')}`);
  }
}
