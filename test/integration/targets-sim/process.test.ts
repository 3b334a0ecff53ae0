/**
 * `syncline targets serve` runs both doubles in one process: it prints where they listen as one JSON
 * line, serves both APIs with the token from its environment, and stops cleanly on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';

describe('targets serve', () => {
  it('starts both doubles, prints their endpoints as JSON, serves them and exits 0 on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      ['bin/syncline.js', 'targets', 'serve', '--salesforce-port', '0', '--zendesk-port', '0', '--json'],
      {
        env: { ...process.env, SYNCLINE_TARGETS_TOKEN: 'process-token-1', LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const firstLine = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', () => reject(new Error('targets serve exited before it was ready')));
      });
      const endpoints = JSON.parse(firstLine) as {
        salesforce: { apiUrl: string };
        zendesk: { apiUrl: string };
      };
      const headers = { authorization: 'Bearer process-token-1' };

      const salesforce = await fetch(`${endpoints.salesforce.apiUrl}/sobjects/Account/ExternalId__c/g-1`, {
        method: 'PATCH',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ Name: 'Process Corp' }),
      });
      const zendesk = await fetch(`${endpoints.zendesk.apiUrl}/organizations/search.json?external_id=g-1`, {
        headers,
      });

      expect(salesforce.status).toBe(201);
      expect(zendesk.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
