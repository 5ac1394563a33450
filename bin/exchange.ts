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
  let supervisor: Supervisor | undefined = undefined;
  supervisor = new Supervisor(config, log, gatewayServices(config, log, (who, message) => supervisor?.onFatal(who, message)));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void supervisor.stop(signal).then((code) => process.exit(code)));
  }
  supervisor.onStopped = (code) => process.exit(code);
  await supervisor.start();
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
