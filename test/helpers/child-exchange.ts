/**
 * The exchange as a real child process (`node dist/bin/exchange.js`), for crash,
 * failover and restart tests: its JSON log lines tell when it is ready and what
 * state hash it recovered and stopped with.
 */
import path from 'node:path';
import { spawn, ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readJournalFile } from '../../journal/sqlite-journal';
import { Matcher } from '../../core/matcher';
import { RiskEngine } from '../../core/risk-engine';
import { stateHash } from '../../core/state-image';

const EXCHANGE = path.join(__dirname, '..', '..', 'bin', 'exchange.js');

export interface Running {
  child: ChildProcess;
  /** Resolves with the first log entry whose msg is `message` (already logged or future). */
  waitForLog(message: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  ready: Promise<{ stateHash: string; sequence: number }>;
  stopped: Promise<{ stateHash: string; sequence: number } | null>;
}

export function startExchange(configFile: string, extraArgs: string[] = []): Running {
  const child = spawn(process.execPath, [EXCHANGE, '--config', configFile, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  let recovered: { stateHash: string; sequence: number } | undefined;
  let stoppedLine: { stateHash: string; sequence: number } | null = null;
  const lines = createInterface({ input: child.stdout! });
  const entries: Array<Record<string, unknown>> = [];
  const watchers: Array<(entry: Record<string, unknown>) => void> = [];
  lines.on('line', (line) => {
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      entries.push(entry);
      for (const watch of watchers) watch(entry);
    } catch {
      // not a log line
    }
  });
  const waitForLog = (message: string, timeoutMs = 30_000) => new Promise<Record<string, unknown>>((resolve, reject) => {
    const seen = entries.find((e) => e.msg === message);
    if (seen !== undefined) return resolve(seen);
    const timer = setTimeout(() => reject(new Error(`no "${message}" log line within ${timeoutMs} ms`)), timeoutMs);
    watchers.push((e) => {
      if (e.msg !== message) return;
      clearTimeout(timer);
      resolve(e);
    });
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const ready = new Promise<{ stateHash: string; sequence: number }>((resolve, reject) => {
    lines.on('line', (line) => {
      let entry: { msg?: string; stateHash?: string; sequence?: number };
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (entry.msg === 'recovered') recovered = { stateHash: entry.stateHash!, sequence: entry.sequence! };
      if (entry.msg === 'exchange ready') resolve(recovered!);
      if (entry.msg === 'stopped cleanly') stoppedLine = { stateHash: entry.stateHash!, sequence: entry.sequence! };
    });
    child.once('exit', (code, signal) => reject(new Error(`exchange exited before ready (code ${code}, signal ${signal}): ${stderr}`)));
  });
  const stopped = new Promise<{ stateHash: string; sequence: number } | null>((resolve) => child.once('exit', () => resolve(stoppedLine)));
  return { child, ready, stopped, waitForLog };
}


/** The state a clean single-threaded run over the journal's first `records` commands reaches. */
export async function cleanRunHash(journalPath: string, upToSequence: number): Promise<string> {
  const matcher = new Matcher({ risk: new RiskEngine() });
  for await (const record of readJournalFile(journalPath)) {
    if (record.firstSequence > upToSequence) break;
    if (record.command[0] !== 0) matcher.process(record.command, 0);
  }
  matcher.flush();
  return stateHash(matcher);
}

