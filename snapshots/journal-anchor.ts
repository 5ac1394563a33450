/**
 * The link between a snapshot and the journal: the hash of the record that ends at the
 * snapshot's sequence S (the genesis hash, 32 zeros, when S is 0). A snapshot carries it;
 * recovery checks that the journal still holds exactly that record before trusting the
 * snapshot, and the chain verification of the tail then starts from it.
 */
import { GENESIS_HASH, recordHash } from '../journal/hash-chain';
import { encodeRecord } from '../journal/record-codec';
import type { Journal } from '../journal/journal';
import { SnapshotError } from './snapshot-error';

export type AnchorLookup = { ok: true; hash: Uint8Array } | { ok: false; fault: string };

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Finds the record ending at `sequence` and checks its stored hash against its content.
 * Reports why not (no such record, S falls inside a record, bad hash) instead of throwing.
 */
export async function lookupChainHash(journal: Journal, sequence: number): Promise<AnchorLookup> {
  if (sequence === 0) return { ok: true, hash: new Uint8Array(GENESIS_HASH) };
  try {
    for await (const record of journal.readFrom(sequence)) {
      if (record.lastSequence !== sequence) {
        return { ok: false, fault: `the journal record holding ${sequence} spans ${record.firstSequence}..${record.lastSequence}: ${sequence} is not a record boundary` };
      }
      if (!equalBytes(recordHash(record.previousHash, encodeRecord(record)), record.hash)) {
        return { ok: false, fault: `the journal record ${record.firstSequence}..${sequence} fails its own hash` };
      }
      return { ok: true, hash: new Uint8Array(record.hash) };
    }
  } catch (error) {
    return { ok: false, fault: `reading the journal at ${sequence}: ${(error as Error).message}` };
  }
  return { ok: false, fault: `the journal holds no record ending at ${sequence}` };
}

/** The chain hash at `sequence`, for a caller about to request a snapshot there. Throws if there is none. */
export async function chainHashAt(journal: Journal, sequence: number): Promise<Uint8Array> {
  const found = await lookupChainHash(journal, sequence);
  if (!found.ok) throw new SnapshotError('SNAPSHOT_BAD_OPTION', found.fault, sequence);
  return found.hash;
}
