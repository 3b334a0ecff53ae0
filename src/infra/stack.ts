/**
 * The local stack as one thing: `up` checks Redis and PostgreSQL, creates the databases, fetches what
 * is missing and starts Kafka and the schema registry (each only if not up already), waiting until each
 * is healthy; `down` stops only what it started; `status` reports every part.
 */
import type { Config } from '../runtime/config.ts';
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';
import type { FetchProgress } from './artifacts.ts';
import { LocalErp } from './erp-server.ts';
import { KafkaServer, type PartStatus } from './kafka-server.ts';
import { cacheDir, defaultStackHome } from './paths.ts';
import { RegistryServer } from './registry-server.ts';
import { ensureDatabases, parseDatabaseUrl, postgresStatus, redisStatus } from './services.ts';

export interface StackOptions {
  home?: string;
  cache?: string;
  kafkaPort?: number;
  controllerPort?: number;
  registryPort?: number;
  /** Port of the reference ERP; default $SYNCLINE_ERP_PORT or 8090. */
  erpPort?: number;
  registryStorage?: 'sql' | 'memory';
  /** Name of the registry's own PostgreSQL database. */
  registryDatabase?: string;
}

export interface UpReport {
  parts: (PartStatus & { action: 'started' | 'already-running' | 'external' | 'checked' })[];
  createdDatabases: string[];
  seconds: number;
}

export class LocalStack {
  readonly kafka: KafkaServer;
  readonly registry: RegistryServer;
  /** The reference ERP the sinks write to (a stand-in for NetSuite/SAP/Dynamics, which cannot run here). */
  readonly erp: LocalErp;
  private readonly config: Config;

  constructor(config: Config, options: StackOptions = {}) {
    this.config = config;
    const home = options.home ?? defaultStackHome();
    const cache = options.cache ?? cacheDir();
    const [kafkaHost, kafkaPortText] = splitHostPort(config.kafka.brokers[0] ?? 'localhost:9092');
    const registryUrl = new URL(config.schemaRegistryUrl);
    const db = parseDatabaseUrl(config.databaseUrl);
    this.kafka = new KafkaServer({
      home,
      cache,
      host: loopback(kafkaHost),
      port: options.kafkaPort ?? Number(kafkaPortText),
      ...(options.controllerPort ? { controllerPort: options.controllerPort } : {}),
    });
    this.registry = new RegistryServer({
      home,
      cache,
      host: loopback(registryUrl.hostname),
      port: options.registryPort ?? Number(registryUrl.port || 8085),
      storage: options.registryStorage ?? 'sql',
      database: { ...db, name: options.registryDatabase ?? `${db.name}_registry` },
    });
    this.erp = new LocalErp({ home, port: options.erpPort ?? erpPortFromEnv() });
  }

  private get registryDatabase(): string {
    return `${parseDatabaseUrl(this.config.databaseUrl).name}_registry`;
  }

  async up(onProgress?: FetchProgress, onStep?: (text: string) => void): Promise<UpReport> {
    const started = Date.now();
    const redis = await redisStatus(this.config.redisUrl);
    const postgres = await postgresStatus(this.config.databaseUrl);
    const missing = [redis, postgres].filter((part) => part.state === 'stopped');
    if (missing.length > 0) {
      throw SynclineError.permanent(
        ErrorCodes.INFRA_FAILED,
        missing
          .map((part) => `${part.part} at ${part.endpoint}: ${part.detail ?? 'not reachable'}`)
          .join('\n'),
        { part: missing.map((part) => part.part).join(' and ') },
      );
    }
    const appDatabase = parseDatabaseUrl(this.config.databaseUrl).name;
    const createdDatabases = await ensureDatabases(this.config.databaseUrl, [
      appDatabase,
      this.registryDatabase,
    ]);
    onStep?.('kafka: starting');
    const kafkaAction = await this.kafka.start(onProgress);
    onStep?.(`kafka: ${kafkaAction}`);
    onStep?.('registry: starting');
    const registryAction = await this.registry.start(onProgress);
    onStep?.(`registry: ${registryAction}`);
    onStep?.('erp: starting');
    const erpAction = await this.erp.start();
    onStep?.(`erp: ${erpAction}`);
    return {
      parts: [
        { ...(await this.kafka.status()), action: kafkaAction },
        { ...(await this.registry.status()), action: registryAction },
        { ...(await this.erp.status()), action: erpAction },
        { ...redis, action: 'checked' },
        { ...postgres, action: 'checked' },
      ],
      createdDatabases,
      seconds: (Date.now() - started) / 1000,
    };
  }

  /** Stops what this stack started, in the reverse order of starting. */
  async down(): Promise<{ part: string; result: string }[]> {
    const erp = await this.erp.stop();
    const registry = await this.registry.stop();
    const kafka = await this.kafka.stop();
    return [
      { part: 'erp', result: erp },
      { part: 'registry', result: registry },
      { part: 'kafka', result: kafka },
    ];
  }

  async status(): Promise<PartStatus[]> {
    return Promise.all([
      this.kafka.status(),
      this.registry.status(),
      this.erp.status(),
      redisStatus(this.config.redisUrl),
      postgresStatus(this.config.databaseUrl),
    ]);
  }
}

function splitHostPort(endpoint: string): [string, string] {
  const index = endpoint.lastIndexOf(':');
  return [endpoint.slice(0, index), endpoint.slice(index + 1)];
}

/** The local stack only ever listens on loopback; `localhost` becomes 127.0.0.1 to avoid IPv6 surprises. */
function loopback(host: string): string {
  if (host === 'localhost' || host === '127.0.0.1' || host === '::1') return '127.0.0.1';
  throw SynclineError.permanent(
    ErrorCodes.CONFIG_INVALID,
    `the local stack listens on loopback only, but the configuration points at ${host}; unset KAFKA_BROKERS / SCHEMA_REGISTRY_URL to use it`,
    { part: 'infra' },
  );
}

function erpPortFromEnv(): number {
  const text = process.env.SYNCLINE_ERP_PORT;
  if (text === undefined || text === '') return 8090;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw SynclineError.permanent(
      ErrorCodes.CONFIG_INVALID,
      `SYNCLINE_ERP_PORT: must be a port number from 1 to 65535 (got ${JSON.stringify(text)})`,
    );
  }
  return port;
}
