/**
 * What a gateway stamps on every command it publishes, besides the receive time: who
 * sent it (the origin word, echoed in every event the command causes) and the client
 * sequence it carried (the last word, journaled with the command).
 *
 *   origin = ORIGIN_KEY_TAG + gatewayId × 2^32 + keyId        (a safe integer: < 2^49)
 *   word COMMAND_CLIENT_SEQUENCE_WORD = the request's client sequence (0: the gateway's own)
 *
 * The key, not the connection, is in the origin so that the keys an event is
 * delivered to are a pure function of the event and the static key configuration
 * (key-routing.ts): a gateway restarted on the same journal numbers every key's
 * messages exactly as before. The gateway id is informational (audit: which port);
 * routing never reads it, so changing gatewayWorkers between runs changes nothing.
 *
 * The tag tells key origins from every other origin: 0 (the supervisor: calendar,
 * Clock, bootstrap, demo flow) and journals written before origins named keys
 * (gatewayId × 2^32 + connection id, below 2^48). Neither names a key, so an old
 * connection id can never be mistaken for a key id and leak another account's events.
 *
 * The client sequence makes a key's lastClientSequence a function of the journal too:
 * after a restart, LogonAck reports the highest one the journal holds for the key, and
 * a reconnecting client resends exactly the requests that never reached it.
 */
import { Commands, COMMAND_WORDS, MessageSpec } from '../../core/schema';

export const ORIGIN_GATEWAY_SCALE = 2 ** 32;
export const ORIGIN_KEY_TAG = 2 ** 48;
/** gatewayId × 2^32 stays below the tag. */
export const ORIGIN_GATEWAY_ID_MAX = 2 ** 16 - 1;
export const ORIGIN_KEY_ID_MAX = 2 ** 32 - 1;

/** The origin of a command key `keyId` sent through gateway `gatewayId` (keyId 0: the gateway itself, no key). */
export function keyOrigin(gatewayId: number, keyId: number): number {
  if (!Number.isInteger(gatewayId) || gatewayId < 1 || gatewayId > ORIGIN_GATEWAY_ID_MAX) {
    throw new RangeError(`origin: gatewayId must be an integer in 1..${ORIGIN_GATEWAY_ID_MAX}, got ${gatewayId}`);
  }
  if (!Number.isInteger(keyId) || keyId < 0 || keyId > ORIGIN_KEY_ID_MAX) {
    throw new RangeError(`origin: keyId must be an integer in 0..${ORIGIN_KEY_ID_MAX}, got ${keyId}`);
  }
  return ORIGIN_KEY_TAG + gatewayId * ORIGIN_GATEWAY_SCALE + keyId;
}

/** The API key named by an origin, 0 when it names none (supervisor, untagged, or the gateway itself). */
export function originKeyId(origin: number): number {
  return origin >= ORIGIN_KEY_TAG ? origin % ORIGIN_GATEWAY_SCALE : 0;
}

/** The gateway an origin came through, 0 when it is not a key origin. */
export function originGatewayId(origin: number): number {
  return origin >= ORIGIN_KEY_TAG ? Math.floor((origin - ORIGIN_KEY_TAG) / ORIGIN_GATEWAY_SCALE) : 0;
}

/** The last command word: no command has a field there (asserted), the matcher ignores it, the journal keeps it. */
export const COMMAND_CLIENT_SEQUENCE_WORD = COMMAND_WORDS - 1;
for (const spec of Object.values(Commands) as MessageSpec[]) {
  for (const field of spec.fields) {
    if (field.word >= COMMAND_CLIENT_SEQUENCE_WORD) {
      throw new Error(`command-stamp: ${spec.name}.${field.name} uses word ${field.word}, reserved for the client sequence`);
    }
  }
}
