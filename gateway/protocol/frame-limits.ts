/**
 * The limits of a frame, as named options with safe defaults. Both the decoder
 * (what it accepts) and the encoder (what it produces) take them, so a peer with the
 * same settings never sends a frame the other refuses. The gateway should pass
 * maxFrameBytes to ws as `maxPayload` too, so ws refuses an oversized frame (close
 * 1009) before buffering it.
 */
import { ClientTemplates, ServerTemplates } from './wire-schema';

export interface FrameLimits {
  /** Bytes in one WebSocket binary message. */
  readonly maxFrameBytes: number;
  /** Messages in one frame. */
  readonly maxMessagesPerFrame: number;
}

export const DEFAULT_FRAME_LIMITS: FrameLimits = Object.freeze({
  maxFrameBytes: 16_384,
  maxMessagesPerFrame: 128,
});

/** Hard ceilings on the options themselves. */
export const FRAME_BYTES_CEILING = 1 << 24;
export const MESSAGES_PER_FRAME_CEILING = 1 << 16;

/** The smallest maxFrameBytes that still carries the largest message of either direction. */
export const FRAME_BYTES_FLOOR = Math.max(ClientTemplates.maxBlockLength, ServerTemplates.maxBlockLength);

export function validateFrameLimits(partial: Partial<FrameLimits> = {}): FrameLimits {
  const limits: FrameLimits = { ...DEFAULT_FRAME_LIMITS, ...partial };
  const { maxFrameBytes, maxMessagesPerFrame } = limits;
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < FRAME_BYTES_FLOOR || maxFrameBytes > FRAME_BYTES_CEILING) {
    throw new RangeError(`frame limits: maxFrameBytes must be an integer in ${FRAME_BYTES_FLOOR}..${FRAME_BYTES_CEILING}, got ${maxFrameBytes}`);
  }
  if (!Number.isSafeInteger(maxMessagesPerFrame) || maxMessagesPerFrame < 1 || maxMessagesPerFrame > MESSAGES_PER_FRAME_CEILING) {
    throw new RangeError(`frame limits: maxMessagesPerFrame must be an integer in 1..${MESSAGES_PER_FRAME_CEILING}, got ${maxMessagesPerFrame}`);
  }
  return Object.freeze(limits);
}
