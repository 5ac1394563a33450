/**
 * The trading calendar: which session phase a wall-clock instant belongs to, and
 * the commands a phase change sends (SessionOpen / SessionClose / EndOfDay). The
 * supervisor reads the clock and submits those commands through the ring, so the
 * matcher stays clock-free and the journal records every transition.
 *
 * Modes: '24x7' (always open: the default, so `npm start` trades at any hour),
 * 'exchange' (weekdays, open/close/end-of-day times in UTC minutes, holidays), and
 * 'demo' (a whole trading day compressed into `demoDayMinutes`).
 */
export type SessionPhase = 'pre-open' | 'open' | 'closed' | 'end-of-day';

export interface CalendarConfig {
  mode: '24x7' | 'exchange' | 'demo';
  /** UTC minutes after midnight. */
  openMinute: number;
  closeMinute: number;
  endOfDayMinute: number;
  /** ISO dates (YYYY-MM-DD) with no trading. */
  holidays: string[];
  demoDayMinutes: number;
}

export const DEFAULT_CALENDAR: CalendarConfig = Object.freeze({
  mode: '24x7',
  openMinute: 14 * 60 + 30,
  closeMinute: 21 * 60,
  endOfDayMinute: 22 * 60,
  holidays: [],
  demoDayMinutes: 10,
}) as CalendarConfig;

const MINUTES_PER_DAY = 24 * 60;

/** The phase at a given instant (milliseconds since the epoch). */
export function phaseAt(calendar: CalendarConfig, epochMs: number): SessionPhase {
  if (calendar.mode === '24x7') return 'open';
  let minute: number;
  if (calendar.mode === 'demo') {
    // Scale the demo day onto a full day's minutes.
    const dayMs = calendar.demoDayMinutes * 60_000;
    minute = Math.floor(((epochMs % dayMs) / dayMs) * MINUTES_PER_DAY);
  } else {
    const date = new Date(epochMs);  // clock-ok: supervisor side, never inside the matcher
    const weekday = date.getUTCDay();
    if (weekday === 0 || weekday === 6 || calendar.holidays.includes(date.toISOString().slice(0, 10))) return 'closed';
    minute = date.getUTCHours() * 60 + date.getUTCMinutes();
  }
  if (minute < calendar.openMinute) return 'pre-open';
  if (minute < calendar.closeMinute) return 'open';
  if (minute < calendar.endOfDayMinute) return 'closed';
  return 'end-of-day';
}

/** Commands (by name) that move the market from one phase to the next, in order. */
export function transitionCommands(from: SessionPhase, to: SessionPhase): Array<'SessionOpen' | 'SessionClose' | 'EndOfDay'> {
  if (from === to) return [];
  if (to === 'open') return from === 'end-of-day' ? ['SessionOpen'] : ['SessionOpen'];
  if (to === 'closed') return from === 'open' ? ['SessionClose'] : [];
  if (to === 'end-of-day') return from === 'open' ? ['SessionClose', 'EndOfDay'] : ['EndOfDay'];
  // to pre-open: a new day starts; if the previous day never reached end of day, end it now
  return from === 'end-of-day' ? [] : from === 'open' ? ['SessionClose', 'EndOfDay'] : ['EndOfDay'];
}
