#!/usr/bin/env node
// Entry point of the `syncline` command. The sources are TypeScript run directly by Node's type
// stripping (Node 22.18+ and 24 do it by default), so a checkout needs no build step.
import { spawnSync } from 'node:child_process';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(
    `syncline: Node.js ${process.versions.node} is too old; it needs 22.12 or newer (24 LTS recommended). ` +
      'Run ./dev setup, which installs Node 24 into ~/.cache/syncline, and put its bin folder first on PATH.',
  );
  process.exit(1);
}

if (!process.features.typescript) {
  // Node 22.12–22.17 strips types only behind a flag: run again with it.
  const result = spawnSync(process.execPath, ['--experimental-strip-types', ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  process.exit(result.status ?? 1);
}

const { main } = await import('../src/cli/main.ts');
await main(process.argv);
