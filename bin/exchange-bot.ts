#!/usr/bin/env node
/**
 * `npm run bot`: the demo market maker and taker as clients of a running exchange, over
 * the binary protocol (gateway/client/demo-bot.ts). Ports, keys and instruments come from
 * the exchange's configuration (--config / EXCHANGE_CONFIG, else the shipped defaults), so
 * against `npm start` with demoFlow off it needs no flags at all.
 */
import { Command } from 'commander';
import { loadConfig } from '../core/runtime/config';
import { DemoBot } from '../gateway/client/demo-bot';

interface BotOptions {
  config?: string;
  host: string;
  makerKey: string;
  takerKey: string;
  symbols?: string;
  cyclesPerSecond: string;
  levels: string;
  duration: string;
}

async function main(): Promise<void> {
  const o = new Command('exchange-bot')
    .description('A demo market maker (quotes a ladder, mass-cancels and re-quotes each cycle) and a taker (IOC orders across the spread) against a running exchange.')
    .option('--config <file>', 'the exchange configuration (ports, keys, instruments)', process.env.EXCHANGE_CONFIG)
    .option('--host <host>', 'gateway host', '127.0.0.1')
    .option('--maker-key <id>', 'the market maker\'s API key (a demo key of the configuration)', '2')
    .option('--taker-key <id>', 'the taker\'s API key', '3')
    .option('--symbols <list>', 'comma-separated symbols to quote (default: every instrument)')
    .option('--cycles-per-second <n>', 're-quote cycles per second (mind the keys\' throttles)', '1')
    .option('--levels <n>', 'price levels quoted per side', '3')
    .option('--duration <ms>', 'stop after this long (0: until Ctrl-C)', '0')
    .parse()
    .opts<BotOptions>();
  const config = loadConfig(o.config);
  const key = (id: number) => {
    const spec = config.demoAccounts.find((a) => a.keyId === id);
    if (spec === undefined) throw new Error(`key ${id} is not a demo key of the configuration`);
    return { ...spec, url: `ws://${o.host}:${config.orderEntryBasePort + (id % config.gatewayWorkers)}` };
  };
  const maker = key(Number(o.makerKey));
  const taker = key(Number(o.takerKey));
  const symbols = o.symbols?.split(',').map((s) => s.trim().toUpperCase());
  const instruments = config.instruments.filter((i) => symbols === undefined || symbols.includes(i.symbol));
  if (instruments.length === 0) throw new Error(`no instrument among ${o.symbols}`);
  const bot = new DemoBot({
    makerUrl: maker.url, takerUrl: taker.url, makerKey: maker.keyId, makerSecret: maker.apiSecret, takerKey: taker.keyId, takerSecret: taker.apiSecret,
    makerAccount: maker.account, takerAccount: taker.account, instruments, cyclesPerSecond: Number(o.cyclesPerSecond), levels: Number(o.levels),
  });
  await bot.start();
  console.log(`quoting ${instruments.map((i) => i.symbol).join(', ')} as key ${maker.keyId}, taking as key ${taker.keyId}`);
  const report = setInterval(() => console.log(JSON.stringify(bot.stats)), 5000);
  await new Promise<void>((resolve) => {
    if (Number(o.duration) > 0) setTimeout(resolve, Number(o.duration));
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  clearInterval(report);
  await bot.stop();
  console.log(JSON.stringify(bot.stats));
}

main().catch((error: Error) => {
  console.error(`exchange-bot: ${error.message}`);
  process.exit(1);
});
