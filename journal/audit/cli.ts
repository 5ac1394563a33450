/**
 * exchange-audit: the auditor's offline journal tool (docs/audit.md).
 *
 *   verify <journal>                         hash chain end to end + record format
 *   reexecute <journal>                      fresh engine, byte-identical events
 *   replay <journal> [--to P] <query> ...    state at a point: book SYM | account ID | order ID | trades
 *   report <kind> <journal>                  blotter | audit-trail | settlement | statement (CSV/JSON)
 *   export <journal.db> --out DIR            a range of an embedded journal into archive files (retention)
 *
 * <journal> is a sqlite journal file, an archive file / comma-separated list / directory of
 * archives, or an EventStoreDB connection string (esdb://...) with --instance.
 * Exit codes: errors.ts (0 ok, 1 check failed, 2 usage, 3 source unreadable, 4 not found).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { EngineLimits } from '../../core/limits';
import { Events } from '../../core/schema';
import { AuditError, ExitCode, notFound, usageError } from './errors';
import { parseId, parsePoint, Point, Range } from './format';
import { OrderTracker, scanEvents, TRADE_COLUMNS, TradeFilter, tradeMatches, tradeRow } from './history';
import { Output, parseFormat, renderObject, TableWriter, writeObject } from './output';
import { Progress } from './progress';
import { EngineConfig, reexecuteJournal } from './reexecute';
import { accountView, bookView, formatDivergence, replayTo } from './replay';
import {
  AUDIT_TRAIL_COLUMNS, auditTrailReport, BLOTTER_COLUMNS, blotterReport, REPORT_KINDS, ReportKind, SETTLEMENT_COLUMNS, settlementReport,
  STATEMENT_COLUMNS, statementReport,
} from './reports';
import { AuditSource, openSource, resolveSource } from './source';
import { verifyJournal } from './verify';
import { EXPORT_EVENTS_PER_FILE, exportJournal } from './export';
import { ENGINE_SEMANTICS_LATEST, EngineSemantics, isEngineSemantics } from '../../core/engine-semantics';

interface CommonOptions {
  instance?: string;
  progress: boolean;
  format?: string;
  out?: string;
}

interface EngineOptions extends CommonOptions {
  risk?: string;
  limits?: string;
  semantics?: string;
}

/**
 * The engine to re-execute with: the journal's recorded options (journal_meta, written by
 * the exchange when it created the journal), overridden by --risk / --limits. A journal
 * that records none (older ones, archives, EventStoreDB) falls back to risk on, default limits.
 */
function engineConfig(options: EngineOptions, source: AuditSource): EngineConfig {
  if (options.risk !== undefined && options.risk !== 'on' && options.risk !== 'off') throw usageError(`--risk must be on or off, got "${options.risk}"`);
  const declared = source.engineDeclaration?.();
  let limits: Partial<EngineLimits> | undefined = declared?.limits;
  if (options.limits !== undefined) {
    try {
      limits = JSON.parse(readFileSync(options.limits, 'utf8')) as Partial<EngineLimits>;
    } catch (error) {
      throw usageError(`--limits ${options.limits}: ${(error as Error).message}`);
    }
  }
  const risk = options.risk !== undefined ? options.risk === 'on' : declared?.risk ?? true;
  let semantics: EngineSemantics = declared?.semantics ?? ENGINE_SEMANTICS_LATEST;
  if (options.semantics !== undefined) {
    const chosen = Number(options.semantics);
    if (!isEngineSemantics(chosen)) throw usageError(`--semantics must be one of 1..${ENGINE_SEMANTICS_LATEST}, got "${options.semantics}"`);
    semantics = chosen;
  }
  const overridden = options.risk !== undefined || options.limits !== undefined || options.semantics !== undefined;
  const origin = overridden ? 'command line' : declared !== undefined ? 'journal' : 'defaults (the journal records none)';
  return { risk, limits, semantics, origin };
}

async function withSource<T>(journal: string, options: CommonOptions, body: (source: AuditSource) => Promise<T>): Promise<T> {
  const source = await openSource(resolveSource(journal, { instance: options.instance }));
  try {
    return await body(source);
  } finally {
    await source.close();
  }
}

function progressFor(label: string, options: CommonOptions): Progress {
  return new Progress(label, 0, { enabled: options.progress });
}

function optionalPoint(text: string | undefined): Point | undefined {
  return text === undefined ? undefined : parsePoint(text);
}

const commonOptions = (command: Command, formats: string[], defaultFormat: string): Command => command
  .option('--instance <id>', 'exchange instance id (EventStoreDB stream journal-<id>)')
  .addOption(new Option('--format <format>', 'output format').choices(formats).default(defaultFormat))
  .option('--out <file>', 'write the result to a file instead of stdout')
  .option('--no-progress', 'no progress bar / progress lines on stderr');

const engineOptions = (command: Command): Command => command
  .option('--risk <on|off>', 'override: re-execute with the accounts-and-risk layer on/off (default: what the journal records, else on)')
  .option('--limits <file.json>', 'override: engine limits (JSON of EngineLimits fields; default: what the journal records, else DEFAULT_LIMITS)')
  .option('--semantics <n>', 'override: engine semantics the journal was written under (default: what the journal records, else the latest)');

function line(label: string, value: unknown): string {
  return `${label.padEnd(20)}${String(value)}\n`;
}

interface VerifyCliOptions extends CommonOptions {
  threads?: string;
  expectHead?: string;
  parallelAbove?: string;
  chunkEvents?: string;
  reader?: 'auto' | 'pages' | 'sqlite';
}

interface ExportCliOptions extends CommonOptions {
  dir: string;
  from?: string;
  to?: string;
  eventsPerFile?: string;
  compression: 'brotli' | 'gzip';
}

async function exportCommand(journal: string, options: ExportCliOptions): Promise<number> {
  if (resolveSource(journal, { instance: options.instance }).kind !== 'sqlite') throw usageError('export reads an embedded (sqlite) journal file');
  const report = await exportJournal(journal, {
    outDirectory: options.dir,
    fromSequence: options.from === undefined ? undefined : parseId(options.from, '--from'),
    toSequence: options.to === undefined ? undefined : parseId(options.to, '--to'),
    eventsPerFile: options.eventsPerFile === undefined ? undefined : parseId(options.eventsPerFile, '--events-per-file'),
    compression: options.compression,
    progress: progressFor('export', options),
  });
  const out = new Output(options.out);
  if (options.format === 'json') {
    out.write(`${JSON.stringify({
      files: report.files.map((f) => ({ path: f.path, firstSequence: f.header.firstSequence, lastSequence: f.header.lastSequence, records: f.header.recordCount })),
      firstSequence: report.firstSequence, lastSequence: report.lastSequence, headHash: report.headHash, engineRecorded: report.engineRecorded,
    }, null, 2)}\n`);
  } else {
    for (const f of report.files) out.write(line('archive', `${f.path} (${f.header.firstSequence}..${f.header.lastSequence}, ${f.header.recordCount} records)`));
    out.write(line('events', `${report.firstSequence}..${report.lastSequence}`));
    out.write(line('head hash', report.headHash));
    out.write(line('engine options', report.engineRecorded ? 'recorded in every header' : 'none (the journal records none)'));
  }
  out.close();
  return ExitCode.OK;
}

async function verifyCommand(journal: string, options: VerifyCliOptions): Promise<number> {
  const threads = options.threads === undefined ? undefined : parseId(options.threads, '--threads');
  const inlineBelowEvents = options.parallelAbove === undefined ? undefined : Number(options.parallelAbove);
  const maxChunkEvents = options.chunkEvents === undefined ? undefined : parseId(options.chunkEvents, '--chunk-events');
  if (options.expectHead !== undefined && !/^[0-9a-fA-F]{64}$/.test(options.expectHead)) throw usageError('--expect-head must be 64 hex digits');
  const report = await withSource(journal, options, (source) =>
    verifyJournal(source, { threads, expectHead: options.expectHead, inlineBelowEvents, maxChunkEvents, reader: options.reader, progress: progressFor('verify', options) }));
  const out = new Output(options.out);
  if (options.format === 'json') {
    out.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    out.write(line('journal', report.source));
    const prefix = report.ok ? '' : ', the intact prefix before the fault';
    out.write(line('records', `${report.records}${prefix}`));
    out.write(line('events', `${report.events} (sequences ${report.firstSequence}..${report.lastSequence}${prefix})`));
    out.write(line('head hash', report.headHash));
    if (!report.anchoredAtGenesis) out.write(line('anchored', `on the first archive's header at sequence ${report.firstSequence} (not on genesis)`));
    out.write(line('threads', `${report.threads} (${report.chunks} chunks, ${report.reader} reader)`));
    out.write(line('rate', `${Math.round(report.eventsPerSecond)} events/s in ${report.seconds.toFixed(3)} s`));
    if (report.ok) {
      out.write(line('result', 'INTACT'));
    } else {
      out.write(line('result', 'BROKEN'));
      out.write(line('first bad sequence', report.fault!.sequence));
      out.write(line('reason', report.fault!.reason));
      out.write(line('detail', report.fault!.detail));
    }
  }
  out.close();
  if (!report.ok) process.stderr.write(`exchange-audit: verify FAILED: first bad sequence ${report.fault!.sequence}: ${report.fault!.reason} (${report.fault!.detail})\n`);
  return report.ok ? ExitCode.OK : ExitCode.FAILED;
}

async function reexecuteCommand(journal: string, options: EngineOptions): Promise<number> {
  let config: EngineConfig | undefined;
  const report = await withSource(journal, options, (source) => {
    config = engineConfig(options, source);
    return reexecuteJournal(source, config, progressFor('reexecute', options));
  });
  const out = new Output(options.out);
  if (options.format === 'json') {
    out.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    out.write(line('journal', report.source));
    out.write(line('risk layer', `${report.risk ? 'on' : 'off'} (engine options from ${config!.origin})`));
    out.write(line('engine semantics', String(config!.semantics ?? ENGINE_SEMANTICS_LATEST)));
    out.write(line('records', `${report.records} (${report.commands} commands)`));
    out.write(line('events', `${report.events} identical`));
    out.write(line('rate', `${Math.round(report.eventsPerSecond)} events/s in ${report.seconds.toFixed(3)} s`));
    if (report.ok) {
      out.write(line('result', 'IDENTICAL'));
    } else {
      const d = report.divergence!;
      out.write(line('result', 'DIVERGED'));
      out.write(line('sequence', d.sequence));
      out.write(line('record', `${d.recordFirstSequence} (${d.commandType})`));
      out.write(line('event', `${d.eventType} (event ${d.eventIndex} of the command; the engine emitted ${d.engineEventType})`));
      out.write(line('field', d.field));
      out.write(line('journal', d.journal));
      out.write(line('engine', d.engine));
      out.write(line('detail', d.detail));
    }
  }
  out.close();
  if (!report.ok) {
    const d = report.divergence!;
    const hint = d.field === 'type' && config!.origin !== 'journal' && /Account|Cash|Position|CommandRejected/.test(`${d.eventType} ${d.engineEventType}`)
      ? ` (was the journal produced with the risk layer ${config!.risk ? 'off' : 'on'}? try --risk ${config!.risk ? 'off' : 'on'})`
      : d.field === 'reservedTotal' && config!.origin !== 'journal'
        ? ` (was the journal written under other engine semantics? try --semantics ${config!.semantics === 1 ? ENGINE_SEMANTICS_LATEST : 1})` : '';
    process.stderr.write(`exchange-audit: reexecute FAILED: ${formatDivergence(d)}${hint}\n`);
  }
  return report.ok ? ExitCode.OK : ExitCode.FAILED;
}

interface ReplayOptions extends EngineOptions {
  to?: string;
  from?: string;
  symbol?: string;
  account?: string;
}

async function replayCommand(journal: string, query: string, args: string[], options: ReplayOptions): Promise<number> {
  const to = optionalPoint(options.to);
  const format = options.format ?? 'text';
  const out = new Output(options.out);
  try {
    const argument = (what: string): string => {
      if (args[0] === undefined) throw usageError(`replay ${query} needs ${what}`);
      return args[0];
    };
    switch (query) {
      case 'book': {
        const symbol = argument('a SYMBOL');
        if (format === 'csv') throw usageError('replay book: --format text or json');
        const view = await withSource(journal, options, async (source) =>
          bookView(await replayTo(source, engineConfig(options, source), to, { trackAcceptTimes: true, progress: progressFor('replay', options) }), symbol));
        writeObject(out, parseFormat(format, ['text', 'json']), view);
        return ExitCode.OK;
      }
      case 'account': {
        const account = parseId(argument('an account ID'), 'account');
        if (format === 'csv') throw usageError('replay account: --format text or json');
        const view = await withSource(journal, options, async (source) =>
          accountView(await replayTo(source, engineConfig(options, source), to, { progress: progressFor('replay', options) }), account));
        writeObject(out, parseFormat(format, ['text', 'json']), view);
        return ExitCode.OK;
      }
      case 'order': {
        const orderId = parseId(argument('an order ID'), 'order id');
        const tracker = new OrderTracker(orderId);
        await withSource(journal, options, (source) =>
          scanEvents(source, { to }, (events, o, context) => tracker.visit(events, o, context), progressFor('replay', options)));
        const result = tracker.result();
        if (!result.found && result.events.length === 0) throw notFound(`no order ${orderId} up to ${options.to ?? 'the end of the journal'}`);
        if (format === 'csv') {
          const columns = ['sequence', 'timestamp_us', 'time_utc', 'event', 'command', 'role', 'detail'];
          const table = new TableWriter(out, columns, 'csv');
          for (const event of result.events) {
            const { sequence, timestamp_us, time_utc, event: type, command, role, ...rest } = event;
            table.row({ sequence: sequence as number, timestamp_us: timestamp_us as number, time_utc: time_utc as string, event: type as string, command: command as string, role: role as string, detail: JSON.stringify(rest) });
          }
          table.end();
        } else {
          writeObject(out, format as 'text' | 'json', { order: result.summary, lifecycle: result.events });
        }
        return result.found ? ExitCode.OK : ExitCode.NOT_FOUND;
      }
      case 'trades': {
        const range: Range = { from: optionalPoint(options.from), to };
        const filter: TradeFilter = { symbol: options.symbol, account: options.account === undefined ? undefined : parseId(options.account, '--account') };
        const table = new TableWriter(out, TRADE_COLUMNS, parseFormat(format, ['text', 'json', 'csv']));
        await withSource(journal, options, (source) => scanEvents(source, range, (events, o, context) => {
          if (events[o] === Events.Trade.code && tradeMatches(events, o, context, filter)) table.row(tradeRow(events, o, context));
        }, progressFor('replay', options)));
        table.end();
        return ExitCode.OK;
      }
      default:
        throw usageError(`unknown replay query "${query}": book SYMBOL | account ID | order ID | trades`);
    }
  } finally {
    out.close();
  }
}

interface ReportOptions extends EngineOptions {
  from?: string;
  to?: string;
  date?: string;
  tradeDate?: string;
  account?: string;
  symbol?: string;
}

async function reportCommand(kind: string, journal: string, options: ReportOptions): Promise<number> {
  if (!(REPORT_KINDS as readonly string[]).includes(kind)) throw usageError(`unknown report "${kind}": ${REPORT_KINDS.join(' | ')}`);
  const format = parseFormat(options.format ?? 'csv', ['csv', 'json']);
  const range: Range = { from: optionalPoint(options.from), to: optionalPoint(options.to) };
  const account = options.account === undefined ? undefined : parseId(options.account, '--account');
  if (options.date !== undefined && !/^\d{4}-\d\d-\d\d$/.test(options.date)) throw usageError('--date must be YYYY-MM-DD (UTC)');
  const tradeDate = options.tradeDate === undefined ? undefined : parseId(options.tradeDate, '--trade-date');
  const progress = progressFor(kind, options);
  const out = new Output(options.out);
  try {
    await withSource(journal, options, async (source) => {
      switch (kind as ReportKind) {
        case 'blotter': {
          const table = new TableWriter(out, BLOTTER_COLUMNS, format);
          await blotterReport(source, range, { date: options.date, tradeDate, account, symbol: options.symbol }, table, progress);
          table.end();
          break;
        }
        case 'audit-trail': {
          const table = new TableWriter(out, AUDIT_TRAIL_COLUMNS, format);
          await auditTrailReport(source, range, table, { account, symbol: options.symbol }, progress);
          table.end();
          break;
        }
        case 'settlement': {
          const table = new TableWriter(out, SETTLEMENT_COLUMNS, format);
          await settlementReport(source, range, table, { account, symbol: options.symbol }, progress);
          table.end();
          break;
        }
        case 'statement': {
          if (account === undefined) throw usageError('report statement needs --account ID');
          const table = new TableWriter(out, STATEMENT_COLUMNS, format, format === 'json' ? 'lines' : undefined);
          const summary = await statementReport(source, engineConfig(options, source), account, range, table, progress);
          table.end({ summary });
          if (format === 'csv') process.stderr.write(renderObject({ summary }));
          if (!summary.reconciled) {
            process.stderr.write(`exchange-audit: statement does NOT reconcile: opening + lines = ${summary.computedClosingCash}, engine closing cash ${summary.closingCash}\n`);
            throw new AuditError('statement does not reconcile', ExitCode.FAILED);
          }
          break;
        }
      }
    });
  } finally {
    out.close();
  }
  return ExitCode.OK;
}

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('exchange-audit')
    .description("the auditor's offline journal tool: verify the hash chain, re-execute, replay state, produce reports")
    .exitOverride()
    .showHelpAfterError()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  const run = <A extends unknown[]>(handler: (...args: A) => Promise<number>) => async (...args: A) => setExit(await handler(...args));

  commonOptions(program.command('verify')
    .description('check the hash chain end to end and every record; prints the head hash')
    .argument('<journal>', 'sqlite journal file, archive file(s)/directory, or esdb:// connection string')
    .option('--threads <n>', 'worker threads (default: every core)')
    .option('--expect-head <hex>', 'fail unless the head hash is this one (catches a truncated tail)')
    .addOption(new Option('--parallel-above <events>', 'use worker threads above this many events (default 200000)').hideHelp())
    .addOption(new Option('--chunk-events <n>', 'largest chunk handed to one worker task (default 2000000)').hideHelp())
    .addOption(new Option('--reader <how>', 'sqlite journals: pages (read the file directly), sqlite, or auto').choices(['auto', 'pages', 'sqlite']).default('auto').hideHelp()), ['text', 'json'], 'text')
    .action(run((journal: string, options: VerifyCliOptions) => verifyCommand(journal, options)));

  engineOptions(commonOptions(program.command('reexecute')
    .description('run the journaled commands through a fresh engine and compare every event byte for byte')
    .argument('<journal>'), ['text', 'json'], 'text'))
    .action(run((journal: string, options: EngineOptions) => reexecuteCommand(journal, options)));

  engineOptions(commonOptions(program.command('replay')
    .description('state at a point of the journal: book SYMBOL | account ID | order ID | trades')
    .argument('<journal>')
    .argument('<query>', 'book | account | order | trades')
    .argument('[args...]', 'SYMBOL for book, ID for account and order')
    .option('--to <seq|ISO time>', 'replay up to this event sequence or time (whole commands; default: the end)')
    .option('--from <seq|ISO time>', 'trades: from this sequence or time')
    .option('--symbol <symbol>', 'trades: only this instrument')
    .option('--account <id>', 'trades: only trades of this account'), ['text', 'json', 'csv'], 'text'))
    .action(run((journal: string, query: string, args: string[], options: ReplayOptions) => replayCommand(journal, query, args, options)));

  commonOptions(program.command('export')
    .description('write a range of an embedded journal to compressed, hash-verified archive files (for retention); read them back with every other command')
    .argument('<journal>', 'sqlite journal file (read-only: the exchange may be running)')
    .requiredOption('--dir <directory>', 'where the archive files go (created if missing)')
    .option('--from <seq>', 'first event sequence (default 1)')
    .option('--to <seq>', 'last event sequence (default: the journal\'s durable end)')
    .option('--events-per-file <n>', `about this many events per archive file (default ${EXPORT_EVENTS_PER_FILE})`)
    .addOption(new Option('--compression <kind>', 'archive compression').choices(['brotli', 'gzip']).default('brotli')), ['text', 'json'], 'text')
    .action(run((journal: string, options: ExportCliOptions) => exportCommand(journal, options)));

  engineOptions(commonOptions(program.command('report')
    .description('reports: blotter | audit-trail | settlement | statement')
    .argument('<kind>', REPORT_KINDS.join(' | '))
    .argument('<journal>')
    .option('--from <seq|ISO time>', 'start of the range')
    .option('--to <seq|ISO time>', 'end of the range (whole commands)')
    .option('--date <YYYY-MM-DD>', 'blotter: trades of this UTC calendar date')
    .option('--trade-date <n>', 'blotter: trades of this engine trade date (1 = the first day)')
    .option('--account <id>', 'only this account (required by statement)')
    .option('--symbol <symbol>', 'only this instrument'), ['csv', 'json'], 'csv'))
    .action(run((kind: string, journal: string, options: ReportOptions) => reportCommand(kind, journal, options)));

  return program;
}

/** Runs the CLI; resolves to the exit code (never calls process.exit). */
export async function main(argv: string[]): Promise<number> {
  let code: number = ExitCode.OK;
  const program = buildProgram((value) => { code = value; });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    if (error instanceof AuditError) {
      process.stderr.write(`exchange-audit: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`exchange-audit: internal error: ${(error as Error).stack ?? String(error)}\n`);
    return ExitCode.INTERNAL;
  }
}
