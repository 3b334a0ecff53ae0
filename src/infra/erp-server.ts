/**
 * The reference ERP as a part of the local stack: `syncline erp serve` started detached, with its log
 * and pid file in `<home>/erp/`, like Kafka and the registry. Its bearer token is ERP_API_TOKEN when
 * set, otherwise one generated on first start and kept in `<home>/erp/token` (mode 0600), where the
 * demo and the sinks read it ({@link LocalErp.token}).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';
import type { PartStatus } from './kafka-server.ts';
import {
  awaitReady,
  existingServer,
  findOurs,
  httpOk,
  residentMemoryMiB,
  startDetached,
  stopIfOurs,
} from './process.ts';

export interface LocalErpOptions {
  home: string;
  host?: string;
  port?: number;
  /** PostgreSQL schema of the ERP's tables, in DATABASE_URL's database. */
  schema?: string;
  /** The API's bearer token; default ERP_API_TOKEN, else a generated one kept in the home. */
  token?: string;
  /** Extra environment for the server (DATABASE_URL, LOG_LEVEL, ...); default this process's. */
  env?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
}

const CLI = fileURLToPath(new URL('../../bin/syncline.js', import.meta.url));

export class LocalErp {
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  readonly logFile: string;
  private readonly options: LocalErpOptions;

  constructor(options: LocalErpOptions) {
    this.options = options;
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 8090;
    this.dir = join(options.home, 'erp');
    this.logFile = join(this.dir, 'erp.log');
  }

  /** The server root (`/_health`, `/_faults`); the API is under `/api/v2.0`. */
  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  private get pidFile(): string {
    return join(this.dir, 'erp.pid');
  }

  private get marker(): string {
    return `--stack-home=${this.options.home}`;
  }

  /** The bearer token of the API: the given one, ERP_API_TOKEN, or the one kept in the home (created once). */
  token(): string {
    const given = this.options.token ?? (this.options.env ?? process.env).ERP_API_TOKEN;
    if (given) return given;
    const file = join(this.dir, 'token');
    if (existsSync(file)) return readFileSync(file, 'utf8').trim();
    mkdirSync(this.dir, { recursive: true });
    const token = randomBytes(24).toString('base64url');
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    return token;
  }

  /** The company's API root, asked from the running server. */
  async apiUrl(): Promise<string> {
    const response = await fetch(`${this.url}/api/v2.0/companies`, {
      headers: { authorization: `Bearer ${this.token()}` },
      signal: AbortSignal.timeout(5000),
    });
    const body = (await response.json()) as { value?: { id: string }[] };
    const id = body.value?.[0]?.id;
    if (!response.ok || !id) {
      throw SynclineError.retriable(
        ErrorCodes.TARGET_UNAVAILABLE,
        `the ERP API did not name its company (HTTP ${response.status})`,
        { part: 'erp' },
      );
    }
    return `${this.url}/api/v2.0/companies(${id})`;
  }

  async status(): Promise<PartStatus> {
    const ours = findOurs(this.pidFile);
    if (ours) {
      return {
        part: 'erp',
        state: 'running',
        endpoint: `${this.url}/api/v2.0`,
        pid: ours.pid,
        memoryMiB: residentMemoryMiB(ours.pid),
        logFile: this.logFile,
        detail: (await this.healthy())
          ? `reference ERP, schema ${this.options.schema ?? 'erp'}`
          : 'process alive but not answering yet',
      };
    }
    if (await this.healthy())
      return {
        part: 'erp',
        state: 'external',
        endpoint: `${this.url}/api/v2.0`,
        detail: 'answering, not started by syncline',
      };
    return { part: 'erp', state: 'stopped', endpoint: `${this.url}/api/v2.0` };
  }

  async start(): Promise<'started' | 'already-running' | 'external'> {
    const existing = await existingServer({
      part: 'erp',
      pidFile: this.pidFile,
      host: this.host,
      port: this.port,
      what: 'the reference ERP',
      healthy: () => this.healthy(),
    });
    if (existing === 'already-running') {
      await this.waitHealthy(undefined);
      return existing;
    }
    if (existing === 'external') return existing;
    const proc = startDetached({
      command: process.execPath,
      args: [
        CLI,
        'erp',
        'serve',
        '--host',
        this.host,
        '--port',
        String(this.port),
        '--schema',
        this.options.schema ?? 'erp',
        this.marker,
      ],
      env: { ...(this.options.env ?? process.env), ERP_API_TOKEN: this.token() },
      logFile: this.logFile,
      pidFile: this.pidFile,
      marker: this.marker,
    });
    await this.waitHealthy(proc.pid);
    return 'started';
  }

  stop(): Promise<'stopped' | 'killed' | 'not-ours'> {
    return stopIfOurs(this.pidFile, 10_000);
  }

  healthy(): Promise<boolean> {
    return httpOk(`${this.url}/_health`);
  }

  private waitHealthy(pid: number | undefined): Promise<void> {
    return awaitReady(() => this.healthy(), {
      part: 'erp',
      label: 'the ERP',
      logFile: this.logFile,
      timeoutMs: this.options.startTimeoutMs ?? 30_000,
      intervalMs: 200,
      pid,
    });
  }
}
