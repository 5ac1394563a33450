/**
 * How the auditor names and parses things: microsecond UTC times, points and ranges of the
 * journal (a sequence number or an ISO time), and code names (sides, reasons, states).
 */
import {
  AccountStatus, AccountType, CancelReason, InstrumentState, nameOf, OrderType, RejectReason, Side, StateChangeReason, TimeInForce,
} from '../../core/codes';
import { usageError } from './errors';

let lastMicros = Number.NaN;
let lastText = '';

/** ISO-8601 UTC with microseconds: 2024-03-15T14:01:00.000000Z (the last one is remembered: a command's events share it). */
export function timeUtc(micros: number): string {
  if (micros === lastMicros) return lastText;
  if (!Number.isFinite(micros)) return '';
  const millis = Math.floor(micros / 1000);
  const iso = new Date(millis).toISOString(); // ...T14:01:00.123Z
  const extra = String(micros - millis * 1000).padStart(3, '0');
  lastMicros = micros;
  lastText = `${iso.slice(0, -1)}${extra}Z`;
  return lastText;
}

/** Microseconds since the epoch of an ISO time (fractions up to µs kept). */
export function parseTime(text: string): number {
  const match = /^(.*?)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$/.exec(text.trim());
  const base = match?.[1] ?? text;
  const fraction = (match?.[2] ?? '').padEnd(6, '0').slice(0, 6);
  const zone = match?.[3] ?? 'Z';
  const millis = Date.parse(`${base}${zone}`);
  if (!/^\d{4}-\d\d-\d\d/.test(text) || Number.isNaN(millis)) throw usageError(`"${text}" is neither a sequence number nor an ISO time`);
  return millis * 1000 + Number(fraction);
}

/** A point of the journal: an event sequence number or a time (µs). */
export type Point = { sequence: number } | { timeMicros: number };

export function parsePoint(text: string): Point {
  if (/^\d+$/.test(text.trim())) {
    const sequence = Number(text);
    if (!Number.isSafeInteger(sequence)) throw usageError(`sequence ${text} is too large`);
    return { sequence };
  }
  return { timeMicros: parseTime(text) };
}

export function describePoint(point: Point | undefined): string {
  if (point === undefined) return 'end of journal';
  return 'sequence' in point ? `sequence ${point.sequence}` : timeUtc(point.timeMicros);
}

/**
 * A range of the journal. `to` selects whole commands: every command whose first event is at
 * or before it (by sequence), or whose timestamp is at or before it (by time); a command is
 * the unit of state change, no state between two events of one command ever existed outside
 * the engine. `from` keeps events at or after it (listings), or, for states (the statement's
 * opening balance), starts at the first command with an event at or after it.
 */
export interface Range {
  from?: Point;
  to?: Point;
}

/** Whether a command starting at (firstSequence, timestamp) is at or before `to`. */
export function beforeEnd(to: Point | undefined, firstSequence: number, timestampMicros: number): boolean {
  if (to === undefined) return true;
  return 'sequence' in to ? firstSequence <= to.sequence : timestampMicros <= to.timeMicros;
}

/** Whether a command ending at lastSequence (at timestamp) is at or after `from`. */
export function afterStart(from: Point | undefined, lastSequence: number, timestampMicros: number): boolean {
  if (from === undefined) return true;
  return 'sequence' in from ? lastSequence >= from.sequence : timestampMicros >= from.timeMicros;
}

export const sideName = (code: number) => (code === 0 ? '' : nameOf(Side, code));
export const orderTypeName = (code: number) => (code === 0 ? '' : nameOf(OrderType, code));
export const timeInForceName = (code: number) => (code === 0 ? '' : nameOf(TimeInForce, code));
export const rejectReasonName = (code: number) => nameOf(RejectReason, code);
export const cancelReasonName = (code: number) => nameOf(CancelReason, code);
export const instrumentStateName = (code: number) => nameOf(InstrumentState, code);
export const stateChangeReasonName = (code: number) => nameOf(StateChangeReason, code);
export const accountStatusName = (code: number) => (code === 0 ? 'None' : nameOf(AccountStatus, code));
export const accountTypeName = (code: number) => (code === 0 ? 'None' : nameOf(AccountType, code));

/** Parses a positive integer option (account, order id, trade date). */
export function parseId(text: string, what: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < 1) throw usageError(`${what} must be a positive integer, got "${text}"`);
  return value;
}
