/**
 * A local single-node Apache Kafka in KRaft mode (combined broker and controller), run from the Maven
 * Central jars with Java 17+. Its data, log and pid file live in `<home>/kafka/`. Topics are never
 * auto-created: they come from `topology/` only.
 */
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
// Every kafkajs client gets the fix for its negative request-queue timer (see the module).
import '../runtime/kafkajs-patches.ts';
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';
import { ensureKafkaJars, type FetchProgress } from './artifacts.ts';
import { findJava } from './java.ts';
import {
  awaitReady,
  existingServer,
  findOurs,
  portOpen,
  residentMemoryMiB,
  startDetached,
  stopIfOurs,
} from './process.ts';
import { KAFKA_MIN_JAVA, KAFKA_VERSION } from './versions.ts';

export interface KafkaServerOptions {
  home: string;
  cache: string;
  host?: string;
  port?: number;
  controllerPort?: number;
  heapMb?: number;
  startTimeoutMs?: number;
}

export interface PartStatus {
  part: string;
  state: 'running' | 'external' | 'stopped';
  endpoint: string;
  pid?: number;
  memoryMiB?: number;
  logFile?: string;
  detail?: string;
}

export class KafkaServer {
  readonly host: string;
  readonly port: number;
  readonly controllerPort: number;
  readonly dir: string;
  readonly logFile: string;
  private readonly options: KafkaServerOptions;

  constructor(options: KafkaServerOptions) {
    this.options = options;
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 9092;
    this.controllerPort = options.controllerPort ?? this.port + 1;
    this.dir = join(options.home, 'kafka');
    this.logFile = join(this.dir, 'kafka.log');
  }

  get endpoint(): string {
    return `${this.host}:${this.port}`;
  }

  private get pidFile(): string {
    return join(this.dir, 'kafka.pid');
  }

  async status(): Promise<PartStatus> {
    const ours = findOurs(this.pidFile);
    if (ours) {
      const healthy = await this.healthy();
      return {
        part: 'kafka',
        state: 'running',
        endpoint: this.endpoint,
        pid: ours.pid,
        memoryMiB: residentMemoryMiB(ours.pid),
        logFile: this.logFile,
        detail: healthy ? `Kafka ${KAFKA_VERSION}, KRaft` : 'process alive but not answering yet',
      };
    }
    if (await portOpen(this.host, this.port)) {
      return {
        part: 'kafka',
        state: 'external',
        endpoint: this.endpoint,
        detail: 'answering, not started by syncline',
      };
    }
    return { part: 'kafka', state: 'stopped', endpoint: this.endpoint };
  }

  /** Starts the broker unless it is up already; returns whether it was started now. */
  async start(onProgress?: FetchProgress): Promise<'started' | 'already-running' | 'external'> {
    const existing = await existingServer({
      part: 'kafka',
      pidFile: this.pidFile,
      host: this.host,
      port: this.port,
      what: 'a Kafka broker',
      healthy: () => this.healthy(),
    });
    if (existing === 'already-running') {
      await this.waitHealthy(undefined);
      return existing;
    }
    if (existing === 'external') return existing;
    const { java, found } = findJava(KAFKA_MIN_JAVA, process.env, 'SYNCLINE_KAFKA_JAVA');
    if (!java) {
      throw SynclineError.permanent(
        ErrorCodes.INFRA_FAILED,
        `Kafka needs Java ${KAFKA_MIN_JAVA} or newer; found ${describeJavas(found)}. Install a JDK (apt-get install openjdk-17-jre-headless) or set SYNCLINE_KAFKA_JAVA`,
        { part: 'kafka' },
      );
    }
    const libs = await ensureKafkaJars(this.options.cache, onProgress);
    const dataDir = join(this.dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    const propertiesFile = join(this.dir, 'server.properties');
    writeFileSync(propertiesFile, this.serverProperties(dataDir));
    const log4jFile = join(this.dir, 'log4j2.properties');
    writeFileSync(log4jFile, LOG4J_CONFIG);
    const classpath = `${libs}/*`;
    const jvm = [
      `-Xms256m`,
      `-Xmx${this.options.heapMb ?? 768}m`,
      '-XX:+UseG1GC',
      `-Dlog4j2.configurationFile=${log4jFile}`,
    ];

    if (!existsSync(join(dataDir, 'meta.properties'))) {
      // First start of this stack: format the storage as a standalone KRaft controller quorum.
      try {
        execFileSync(
          java.path,
          [
            ...jvm,
            '-cp',
            classpath,
            'kafka.tools.StorageTool',
            'format',
            '--standalone',
            '-t',
            randomUUID().replaceAll('-', '').slice(0, 22),
            '-c',
            propertiesFile,
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
      } catch (error) {
        throw SynclineError.permanent(
          ErrorCodes.INFRA_FAILED,
          `formatting Kafka storage failed: ${String((error as { stderr?: Buffer }).stderr ?? error).slice(0, 300)}`,
          { part: 'kafka' },
          error,
        );
      }
    }

    const proc = startDetached({
      command: java.path,
      args: [...jvm, `-Dsyncline.home=${this.options.home}`, '-cp', classpath, 'kafka.Kafka', propertiesFile],
      logFile: this.logFile,
      pidFile: this.pidFile,
      marker: `-Dsyncline.home=${this.options.home}`,
    });
    await this.waitHealthy(proc.pid);
    return 'started';
  }

  /** Stops the broker if we started it (controlled shutdown first). */
  stop(): Promise<'stopped' | 'killed' | 'not-ours'> {
    return stopIfOurs(this.pidFile, 30_000);
  }

  /** True when the broker answers a metadata request. */
  async healthy(): Promise<boolean> {
    if (!(await portOpen(this.host, this.port, 500))) return false;
    const admin = new Kafka({
      clientId: 'syncline-infra',
      brokers: [this.endpoint],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1000,
      requestTimeout: 2000,
      retry: { retries: 0 },
    }).admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return cluster.brokers.length > 0 && cluster.controller !== null;
    } catch {
      return false;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  private waitHealthy(pid: number | undefined): Promise<void> {
    return awaitReady(() => this.healthy(), {
      part: 'kafka',
      label: 'Kafka',
      logFile: this.logFile,
      timeoutMs: this.options.startTimeoutMs ?? 90_000,
      intervalMs: 500,
      pid,
    });
  }

  private serverProperties(dataDir: string): string {
    return `# Written by syncline infra up; edits are overwritten at the next start.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=${this.host}:${this.controllerPort}
listeners=PLAINTEXT://${this.host}:${this.port},CONTROLLER://${this.host}:${this.controllerPort}
advertised.listeners=PLAINTEXT://${this.host}:${this.port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=${dataDir}
# Topics come from topology/ only (kafkajs also misbehaves with auto-created topics on KRaft).
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# A single local node: rebalance at once rather than waiting for more members.
group.initial.rebalance.delay.ms=0
log.retention.check.interval.ms=60000
`;
  }
}

export function describeJavas(found: { path: string; major: number }[]): string {
  return found.length === 0 ? 'no Java at all' : found.map((j) => `Java ${j.major} at ${j.path}`).join(', ');
}

const LOG4J_CONFIG = `# Kafka's own logging for the local stack: to stdout, which syncline sends to kafka.log.
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = info
logger.request.name = kafka.request.logger
logger.request.level = warn
logger.state.name = state.change.logger
logger.state.level = warn
`;
