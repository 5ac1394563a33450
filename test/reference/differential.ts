/**
 * Runs the real Matcher and the reference matcher on the same command stream and
 * finds the first command whose events differ.
 */
import { inspect } from 'node:util';
import { Matcher } from '../../core/matcher';
import { CollectingSink, CommandObject, EventObject } from '../../core/record-objects';
import { FLOW_LIMITS, REFERENCE_OPTIONS, encodeCommandObject } from './order-flow';
import { ReferenceMatcher } from './reference-matcher';

export class EngineRunner {
  readonly sink = new CollectingSink();
  readonly matcher: Matcher;

  constructor(clientOrderIdWindow: number = FLOW_LIMITS.clientOrderIdWindow) {
    this.matcher = new Matcher({ limits: { ...FLOW_LIMITS, clientOrderIdWindow }, sink: this.sink });
  }

  process(command: CommandObject): EventObject[] {
    this.matcher.process(encodeCommandObject(command), 0);
    this.matcher.flush();
    return this.sink.take();
  }
}

export interface Mismatch {
  commandIndex: number;
  command: CommandObject;
  eventIndex: number;
  expected: EventObject | undefined;
  actual: EventObject | undefined;
  expectedEvents: EventObject[];
  actualEvents: EventObject[];
}

/** Field-for-field equality; -0 and 0 differ (they differ as record bytes). */
function sameEvent(a: EventObject | undefined, b: EventObject | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) if (!Object.is(a[key], b[key])) return false;
  return true;
}

/** The first disagreement between engine (actual) and reference (expected), or null. */
export interface DifferentialOptions {
  /** Both sides' client order id window (default FLOW_LIMITS'). */
  clientOrderIdWindow?: number;
}

export function firstMismatch(commands: readonly CommandObject[], options: DifferentialOptions = {}): Mismatch | null {
  const clientOrderIdWindow = options.clientOrderIdWindow ?? FLOW_LIMITS.clientOrderIdWindow;
  const engine = new EngineRunner(clientOrderIdWindow);
  const reference = new ReferenceMatcher({ ...REFERENCE_OPTIONS, clientOrderIdWindow });
  for (let i = 0; i < commands.length; i++) {
    const actualEvents = engine.process(commands[i]);
    const expectedEvents = reference.process(commands[i]);
    const n = Math.max(actualEvents.length, expectedEvents.length);
    for (let e = 0; e < n; e++) {
      if (!sameEvent(expectedEvents[e], actualEvents[e])) {
        return {
          commandIndex: i, command: commands[i], eventIndex: e, expected: expectedEvents[e], actual: actualEvents[e],
          expectedEvents, actualEvents,
        };
      }
    }
  }
  return null;
}

const show = (value: unknown) => inspect(value, { depth: 4, breakLength: Infinity });

export function describeMismatch(m: Mismatch, label: string, commands: readonly CommandObject[]): string {
  const context = commands.slice(Math.max(0, m.commandIndex - 8), m.commandIndex).map((c) => '    ' + show(c));
  return [
    `${label}: engine and reference disagree at command #${m.commandIndex}, event #${m.eventIndex} of that command`,
    `  command:   ${show(m.command)}`,
    `  expected (reference): ${show(m.expected)}`,
    `  actual   (engine):    ${show(m.actual)}`,
    `  reference events: ${show(m.expectedEvents.map((e) => e.type))}`,
    `  engine events:    ${show(m.actualEvents.map((e) => e.type))}`,
    '  preceding commands:',
    ...context,
  ].join('\n');
}
