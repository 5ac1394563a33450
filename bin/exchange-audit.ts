#!/usr/bin/env node
/**
 * exchange-audit: the auditor's offline journal replay tool. See docs/audit.md and
 * journal/audit/cli.ts. The exit code says the verdict (0 ok, 1 check failed, 2 usage,
 * 3 journal unreadable, 4 not found).
 */
import { main } from '../journal/audit/cli';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`exchange-audit: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 70;
  },
);
