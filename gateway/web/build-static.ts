/**
 * The web terminal's production build (run by `npm run build` after tsc): every script and
 * stylesheet of gateway/web/static minified by esbuild into dist/gateway/web/static, the
 * pages copied, so the broker serves small files (it serves the source directory only when
 * no build exists). Scripts stay separate classic scripts: the pages load them in order and
 * they share top-level names (dom.js's $, el, money), which esbuild leaves as they are.
 */
import { copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SOURCE = path.join(ROOT, 'gateway', 'web', 'static');
const TARGET = path.join(ROOT, 'dist', 'gateway', 'web', 'static');

function main(): void {
  mkdirSync(TARGET, { recursive: true });
  const files = readdirSync(SOURCE).filter((name) => statSync(path.join(SOURCE, name)).isFile());
  const minified = files.filter((name) => name.endsWith('.js') || name.endsWith('.css'));
  buildSync({
    entryPoints: minified.map((name) => path.join(SOURCE, name)),
    outdir: TARGET,
    minify: true,
    bundle: false,
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    logLevel: 'error',
  });
  for (const name of files) if (!minified.includes(name)) copyFileSync(path.join(SOURCE, name), path.join(TARGET, name));
  const bytes = (dir: string, names: string[]) => names.reduce((n, name) => n + statSync(path.join(dir, name)).size, 0);
  process.stdout.write(`web: ${files.length} static files, scripts and styles ${bytes(SOURCE, minified)} → ${bytes(TARGET, minified)} bytes\n`);
}

main();
