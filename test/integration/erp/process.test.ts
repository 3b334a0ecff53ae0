/**
 * The reference ERP as a process of the local stack: `LocalErp` starts `syncline erp serve` detached
 * with a pid file and a generated token, finds it again, and stops only what it started; the command
 * itself refuses to start without a token, with a one-line reason.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalErp } from '../../../src/infra/erp-server.ts';
import { loadConfig } from '../../../src/runtime/config.ts';
import { dropSchema } from '../../support/erp.ts';

const config = loadConfig();
const home = mkdtempSync(join(tmpdir(), 'syncline-erp-'));
const schema = `erp_p_${randomBytes(4).toString('hex')}`;

afterAll(async () => {
  rmSync(home, { recursive: true, force: true });
  await dropSchema(config.databaseUrl, schema);
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

describe('the ERP as a process', () => {
  it('starts detached with a generated token, serves the API, reports its status and stops', async () => {
    const { ERP_API_TOKEN: _unset, ...env } = process.env;
    const erp = new LocalErp({ home, port: await freePort(), schema, env: { ...env, LOG_LEVEL: 'warn' } });

    const started = await erp.start();
    try {
      const status = await erp.status();
      const token = erp.token();
      const apiUrl = await erp.apiUrl();
      const created = await fetch(`${apiUrl}/customers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ displayName: 'Process GmbH' }),
      });
      const again = await erp.start();

      expect(started).toBe('started');
      expect(status).toMatchObject({ part: 'erp', state: 'running' });
      expect(statSync(join(home, 'erp', 'token')).mode & 0o777).toBe(0o600);
      expect(created.status).toBe(201);
      expect(again).toBe('already-running');
    } finally {
      expect(await erp.stop()).toBe('stopped');
    }
    expect((await erp.status()).state).toBe('stopped');
    expect(await erp.stop()).toBe('not-ours');
  });

  it('refuses to serve without a token, with a one-line reason and exit code 1', () => {
    const { ERP_API_TOKEN: _unset, ...env } = process.env;
    const result = spawnSync(
      process.execPath,
      ['bin/syncline.js', 'erp', 'serve', '--port', '0', '--schema', schema],
      {
        env,
        encoding: 'utf8',
        timeout: 30_000,
      },
    );

    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      'syncline: erp: the ERP API needs a bearer token: pass --token or set ERP_API_TOKEN',
    );
  });
});
