/**
 * A local Confluent-compatible schema registry: Apicurio Registry 3.3, run from its Maven Central
 * archive with Java 21+. It serves the Confluent API at /apis/ccompat/v7 and stores schemas in the local
 * PostgreSQL (its SQL storage), so schemas and their ids survive a restart; in-memory storage is there
 * for tests that ask for it.
 *
 * Apicurio does not enforce compatibility unless a rule exists, so after every start we set the global
 * compatibility level (BACKWARD_TRANSITIVE) through the Confluent API.
 */
import { join } from 'node:path';
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';
import { ensureApicurio, type FetchProgress } from './artifacts.ts';
import { findJava } from './java.ts';
import { describeJavas, type PartStatus } from './kafka-server.ts';
import {
  awaitReady,
  existingServer,
  findOurs,
  httpOk,
  residentMemoryMiB,
  startDetached,
  stopIfOurs,
} from './process.ts';
import { APICURIO_MIN_JAVA, APICURIO_VERSION } from './versions.ts';

export interface RegistryServerOptions {
  home: string;
  cache: string;
  host?: string;
  port?: number;
  /** `sql` persists in PostgreSQL (the default); `memory` loses everything on stop. */
  storage?: 'sql' | 'memory';
  /** JDBC coordinates of the PostgreSQL database, for `sql` storage. */
  database?: { host: string; port: number; name: string; user: string; password: string };
  globalCompatibility?: string;
  heapMb?: number;
  startTimeoutMs?: number;
}

export class RegistryServer {
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  readonly logFile: string;
  private readonly options: RegistryServerOptions;

  constructor(options: RegistryServerOptions) {
    this.options = options;
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 8085;
    this.dir = join(options.home, 'registry');
    this.logFile = join(this.dir, 'registry.log');
  }

  /** The Confluent-compatible API root, as SCHEMA_REGISTRY_URL expects it. */
  get url(): string {
    return `http://${this.host}:${this.port}/apis/ccompat/v7`;
  }

  private get pidFile(): string {
    return join(this.dir, 'registry.pid');
  }

  async status(): Promise<PartStatus> {
    const ours = findOurs(this.pidFile);
    if (ours) {
      const healthy = await this.healthy();
      return {
        part: 'registry',
        state: 'running',
        endpoint: this.url,
        pid: ours.pid,
        memoryMiB: residentMemoryMiB(ours.pid),
        logFile: this.logFile,
        detail: healthy
          ? `Apicurio Registry ${APICURIO_VERSION}, ${this.options.storage ?? 'sql'} storage`
          : 'process alive but not answering yet',
      };
    }
    if (await this.healthy()) {
      return {
        part: 'registry',
        state: 'external',
        endpoint: this.url,
        detail: 'answering, not started by syncline',
      };
    }
    return { part: 'registry', state: 'stopped', endpoint: this.url };
  }

  async start(onProgress?: FetchProgress): Promise<'started' | 'already-running' | 'external'> {
    const existing = await existingServer({
      part: 'registry',
      pidFile: this.pidFile,
      host: this.host,
      port: this.port,
      what: 'a schema registry',
      healthy: () => this.healthy(),
    });
    if (existing === 'already-running') {
      await this.waitHealthy(undefined);
      await this.setGlobalCompatibility();
      return existing;
    }
    if (existing === 'external') return existing;
    const { java, found } = findJava(APICURIO_MIN_JAVA, process.env, 'SYNCLINE_REGISTRY_JAVA');
    if (!java) {
      throw SynclineError.permanent(
        ErrorCodes.INFRA_FAILED,
        `Apicurio Registry ${APICURIO_VERSION} needs Java ${APICURIO_MIN_JAVA} or newer; found ${describeJavas(found)}. Install one (e.g. apt-get install openjdk-21-jre-headless, or a Temurin 21+ JDK) or set SYNCLINE_REGISTRY_JAVA to its java`,
        { part: 'registry' },
      );
    }
    const app = await ensureApicurio(this.options.cache, onProgress);
    const proc = startDetached({
      command: java.path,
      args: [
        `-Xmx${this.options.heapMb ?? 512}m`,
        `-Dsyncline.home=${this.options.home}`,
        '-jar',
        join(app, 'quarkus-run.jar'),
      ],
      cwd: app,
      env: { ...process.env, ...this.environment() },
      logFile: this.logFile,
      pidFile: this.pidFile,
      marker: `-Dsyncline.home=${this.options.home}`,
    });
    await this.waitHealthy(proc.pid);
    await this.setGlobalCompatibility();
    return 'started';
  }

  stop(): Promise<'stopped' | 'killed' | 'not-ours'> {
    return stopIfOurs(this.pidFile, 20_000);
  }

  healthy(): Promise<boolean> {
    return httpOk(`${this.url}/subjects`);
  }

  private environment(): Record<string, string> {
    const env: Record<string, string> = {
      QUARKUS_HTTP_HOST: this.host,
      QUARKUS_HTTP_PORT: String(this.port),
      // The management interface (health, metrics) is fixed on at build time and would listen on
      // 0.0.0.0:9000: keep it on loopback, on the port after the API's, so two stacks can coexist.
      QUARKUS_MANAGEMENT_HOST: this.host,
      QUARKUS_MANAGEMENT_PORT: String(this.port + 1),
      QUARKUS_LOG_CONSOLE_JSON: 'false',
      APICURIO_REST_DELETION_ARTIFACT_ENABLED: 'true',
      APICURIO_REST_DELETION_ARTIFACT_VERSION_ENABLED: 'true',
      APICURIO_REST_DELETION_GROUP_ENABLED: 'true',
    };
    if ((this.options.storage ?? 'sql') === 'sql') {
      const db = this.options.database;
      if (!db) {
        throw SynclineError.permanent(ErrorCodes.INFRA_FAILED, 'SQL storage needs the database coordinates', {
          part: 'registry',
        });
      }
      Object.assign(env, {
        APICURIO_STORAGE_KIND: 'sql',
        APICURIO_STORAGE_SQL_KIND: 'postgresql',
        APICURIO_DATASOURCE_URL: `jdbc:postgresql://${db.host}:${db.port}/${db.name}`,
        APICURIO_DATASOURCE_USERNAME: db.user,
        APICURIO_DATASOURCE_PASSWORD: db.password,
      });
    }
    return env;
  }

  private waitHealthy(pid: number | undefined): Promise<void> {
    return awaitReady(() => this.healthy(), {
      part: 'registry',
      label: 'the registry',
      logFile: this.logFile,
      timeoutMs: this.options.startTimeoutMs ?? 120_000,
      intervalMs: 500,
      pid,
    });
  }

  /** Without a global rule Apicurio enforces no compatibility at all; set one after every start. */
  private async setGlobalCompatibility(): Promise<void> {
    const level = this.options.globalCompatibility ?? 'BACKWARD_TRANSITIVE';
    const response = await fetch(`${this.url}/config`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ compatibility: level }),
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) {
      throw SynclineError.permanent(
        ErrorCodes.INFRA_FAILED,
        `setting the global compatibility to ${level} failed: HTTP ${response.status} ${await response.text()}`,
        { part: 'registry', logFile: this.logFile },
      );
    }
  }
}
