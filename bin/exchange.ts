#!/usr/bin/env node
/**
 * `npm start`: runs the exchange on the embedded journal with the shipped default
 * configuration (or `--config file.json`, or EXCHANGE_CONFIG), environment overrides
 * applied (docs/operations.md).
 */
import pino from 'pino';
import { loadConfig, ConfigError } from '../core/runtime/config';
import { Supervisor } from '../core/runtime/supervisor';
import { gatewayServices } from '../gateway/services';
import { Standby, assertRecoveredFrom } from '../core/runtime/standby';
import { EventStoreStandbySource, LocalJournalSource } from '../core/runtime/standby-sources';

async function main(): Promise<void> {
  const log = pino({ name: 'exchange' });
  const flag = process.argv.indexOf('--config');
  const file = flag >= 0 ? process.argv[flag + 1] : process.env.EXCHANGE_CONFIG;
  let config;
  try {
    config = loadConfig(file);
  } catch (error) {
    if (error instanceof ConfigError) {
      log.fatal(error.message);
      process.exit(2);
    }
    throw error;
  }
  // --standby URL: follow the leader whose health endpoint is URL, take over when it dies;
  // with --from-stream, follow its EventStoreDB stream from another machine (needs eventStoreUrl).
  const standbyFlag = process.argv.indexOf('--standby');
  let takeoverAt = -1;
  if (standbyFlag >= 0) {
    const fromStream = process.argv.includes('--from-stream');
    if (fromStream && config.eventStoreUrl === '') {
      log.fatal('--from-stream needs eventStoreUrl (EXCHANGE_ESDB_URL): the stream to follow');
      process.exit(2);
    }
    const source = fromStream ? await EventStoreStandbySource.open(config) : new LocalJournalSource(config);
    const standby = new Standby(config, log, process.argv[standbyFlag + 1], source);
    log.info({ leader: process.argv[standbyFlag + 1], from: fromStream ? 'stream' : 'file' }, 'standby: following the leader\'s journal');
    const reached = await standby.follow();
    const started = Date.now();
    log.warn({ sequence: reached, status: standby.status() }, 'standby: leader is gone, taking over');
    takeoverAt = standby.handOver();
    log.info({ handOverMs: Date.now() - started }, 'standby: hand-over snapshot stored');
  }
  let supervisor: Supervisor | undefined = undefined;
  supervisor = new Supervisor(config, log, gatewayServices(config, log, (who, message) => supervisor?.onFatal(who, message)));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void supervisor.stop(signal).then((code) => process.exit(code)));
  }
  supervisor.onStopped = (code) => process.exit(code);
  await supervisor.start();
  if (takeoverAt >= 0) {
    assertRecoveredFrom(supervisor.core, takeoverAt);
    log.warn({ sequence: supervisor.core.control.matchedSequence }, 'standby: now the leader');
  }
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
