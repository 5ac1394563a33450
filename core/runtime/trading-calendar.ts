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
const MS_PER_DAY = MINUTES_PER_DAY * 60_000;
/** How far back previousTradingDay looks for a weekday that is not a holiday. */
const MAX_DAYS_WITHOUT_TRADING = 31;

/**
 * Where the calendar stands: the day (the EndOfDay command's calendarDate: YYYYMMDD in
 * 'exchange' mode, the demo day's number in 'demo' mode, 0 in '24x7' mode, which has no
 * days), whether that day trades, and the session phase.
 */
export interface CalendarMoment {
  day: number;
  trading: boolean;
  phase: SessionPhase;
}

export type SessionCommand =
  | { name: 'SessionOpen' | 'SessionClose' }
  | { name: 'EndOfDay'; calendarDate: number };

function utcDay(epochMs: number): { day: number; trading: (calendar: CalendarConfig) => boolean } {
  const date = new Date(epochMs);  // clock-ok: supervisor side, never inside the matcher
  const iso = date.toISOString().slice(0, 10);
  const weekday = date.getUTCDay();
  return {
    day: date.getUTCFullYear() * 10_000 + (date.getUTCMonth() + 1) * 100 + date.getUTCDate(),
    trading: (calendar) => weekday !== 0 && weekday !== 6 && !calendar.holidays.includes(iso),
  };
}

/** The calendar at a given instant (milliseconds since the epoch). */
export function momentAt(calendar: CalendarConfig, epochMs: number): CalendarMoment {
  if (calendar.mode === '24x7') return { day: 0, trading: true, phase: 'open' };
  let minute: number;
  let day: number;
  if (calendar.mode === 'demo') {
    // Scale the demo day onto a full day's minutes.
    const dayMs = calendar.demoDayMinutes * 60_000;
    minute = Math.floor(((epochMs % dayMs) / dayMs) * MINUTES_PER_DAY);
    day = Math.floor(epochMs / dayMs) + 1;
  } else {
    const utc = utcDay(epochMs);
    if (!utc.trading(calendar)) return { day: utc.day, trading: false, phase: 'closed' };
    const date = new Date(epochMs);  // clock-ok: supervisor side, never inside the matcher
    minute = date.getUTCHours() * 60 + date.getUTCMinutes();
    day = utc.day;
  }
  const phase: SessionPhase = minute < calendar.openMinute ? 'pre-open'
    : minute < calendar.closeMinute ? 'open'
      : minute < calendar.endOfDayMinute ? 'closed' : 'end-of-day';
  return { day, trading: true, phase };
}

/** The phase at a given instant. */
export function phaseAt(calendar: CalendarConfig, epochMs: number): SessionPhase {
  return momentAt(calendar, epochMs).phase;
}

/** The trading day before the one at epochMs (0 in '24x7' mode or if none within a month). */
export function previousTradingDay(calendar: CalendarConfig, epochMs: number): number {
  if (calendar.mode === '24x7') return 0;
  if (calendar.mode === 'demo') return Math.floor(epochMs / (calendar.demoDayMinutes * 60_000));
  for (let back = 1; back <= MAX_DAYS_WITHOUT_TRADING; back++) {
    const utc = utcDay(epochMs - back * MS_PER_DAY);
    if (utc.trading(calendar)) return utc.day;
  }
  return 0;
}

const isOpen = (phase: SessionPhase) => phase === 'open';

/**
 * Commands that move the market from one moment to the next, in order: a new day first
 * finishes the old one (close, and end it unless it already ended), then the instruments
 * follow the phase (open only while 'open'), and reaching 'end-of-day' ends the day.
 * Days that do not trade are never ended. DAY orders expire at the close.
 */
export function transitionCommands(from: CalendarMoment, to: CalendarMoment): SessionCommand[] {
  const commands: SessionCommand[] = [];
  let phase = from.phase;
  if (from.day !== to.day) {
    if (isOpen(phase)) commands.push({ name: 'SessionClose' });
    if (from.day !== 0 && from.trading && phase !== 'end-of-day') commands.push({ name: 'EndOfDay', calendarDate: from.day });
    phase = 'closed';
  }
  if (isOpen(phase) !== isOpen(to.phase)) commands.push({ name: isOpen(to.phase) ? 'SessionOpen' : 'SessionClose' });
  if (to.phase === 'end-of-day' && phase !== 'end-of-day' && to.day !== 0 && to.trading) {
    commands.push({ name: 'EndOfDay', calendarDate: to.day });
  }
  return commands;
}

/**
 * Commands at start, when the supervisor does not know what the journal already did: end
 * the previous trading day (a recovered exchange may have been down across its end), put
 * the instruments in the phase's state, and end today if its end has come. An exchange
 * restarted during 'open' does not close first: that would expire today's DAY orders. Every EndOfDay
 * is dated, so one the journal already holds is rejected (TRADING_DAY_ALREADY_ENDED) and
 * changes nothing; an open or close that changes nothing is rejected the same way. A fresh
 * journal has no previous day to end.
 */
export function startCommands(calendar: CalendarConfig, epochMs: number, recovered: boolean): SessionCommand[] {
  const now = momentAt(calendar, epochMs);
  const commands: SessionCommand[] = [];
  if (calendar.mode === '24x7') return commands; // no days, always open: nothing to catch up
  const previous = recovered ? previousTradingDay(calendar, epochMs) : 0;
  // Close before ending a day (DAY orders expire first); end the old day before opening a new one.
  if (!isOpen(now.phase)) commands.push({ name: 'SessionClose' });
  if (previous !== 0) commands.push({ name: 'EndOfDay', calendarDate: previous });
  if (isOpen(now.phase)) commands.push({ name: 'SessionOpen' });
  if (now.phase === 'end-of-day' && now.day !== 0 && now.trading) commands.push({ name: 'EndOfDay', calendarDate: now.day });
  return commands;
}
