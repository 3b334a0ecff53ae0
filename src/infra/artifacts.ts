/**
 * Fetching the servers of the local stack from Maven Central, once, into the cache folder. Maven does
 * the downloading (it honours the machine's mirrors and proxies, and keeps its own ~/.m2 cache); we show
 * its progress as a count of downloaded files, and write a marker file only when everything arrived, so
 * an interrupted fetch is simply done again.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';
import { APICURIO_VERSION, KAFKA_VERSION, LOG4J_VERSION, SCALA_VERSION } from './versions.ts';

export interface FetchProgress {
  (event: { part: string; downloaded: number; line: string }): void;
}

/** The folder of Kafka's jars (the broker and its runtime dependencies), fetched if missing. */
export async function ensureKafkaJars(cache: string, onProgress?: FetchProgress): Promise<string> {
  const dir = join(cache, `kafka-${KAFKA_VERSION}`);
  const libs = join(dir, 'libs');
  if (existsSync(join(dir, '.complete'))) return libs;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(libs, { recursive: true });
  const pom = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.syncline.local</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_${SCALA_VERSION}</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>${LOG4J_VERSION}</version></dependency>
  </dependencies>
</project>`;
  const work = mkdtempSync(join(tmpdir(), 'syncline-kafka-fetch-'));
  try {
    writeFileSync(join(work, 'pom.xml'), pom);
    await runMaven(
      ['-B', 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`, '-DincludeScope=runtime'],
      work,
      'kafka',
      onProgress,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (!readdirSync(libs).some((name) => name.startsWith(`kafka_${SCALA_VERSION}-`))) {
    throw SynclineError.permanent(
      ErrorCodes.INFRA_FAILED,
      `Maven finished but no Kafka jar arrived in ${libs}`,
      {
        part: 'kafka',
      },
    );
  }
  writeFileSync(join(dir, '.complete'), `${new Date().toISOString()}\n`);
  return libs;
}

/** The unpacked Apicurio Registry app (the folder holding quarkus-run.jar), fetched if missing. */
export async function ensureApicurio(cache: string, onProgress?: FetchProgress): Promise<string> {
  const dir = join(cache, `apicurio-registry-${APICURIO_VERSION}`);
  const app = join(dir, 'app');
  if (existsSync(join(dir, '.complete'))) return app;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(app, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'syncline-apicurio-fetch-'));
  try {
    await runMaven(
      [
        '-B',
        'dependency:copy',
        `-Dartifact=io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all`,
        `-DoutputDirectory=${work}`,
      ],
      work,
      'registry',
      onProgress,
    );
    const archive = readdirSync(work).find((name) => name.endsWith('.tar.gz'));
    if (!archive) {
      throw SynclineError.permanent(
        ErrorCodes.INFRA_FAILED,
        'Maven finished but the Apicurio archive did not arrive',
        {
          part: 'registry',
        },
      );
    }
    await run('tar', ['-xzf', join(work, archive), '-C', app], 'registry');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (!existsSync(join(app, 'quarkus-run.jar'))) {
    throw SynclineError.permanent(
      ErrorCodes.INFRA_FAILED,
      `the Apicurio archive has no quarkus-run.jar (in ${app})`,
      {
        part: 'registry',
      },
    );
  }
  writeFileSync(join(dir, '.complete'), `${new Date().toISOString()}\n`);
  return app;
}

async function runMaven(
  args: string[],
  cwd: string,
  part: string,
  onProgress?: FetchProgress,
): Promise<void> {
  let downloaded = 0;
  const output: string[] = [];
  await run('mvn', args, part, cwd, (line) => {
    output.push(line);
    if (output.length > 40) output.shift();
    if (/^\[INFO\] Downloaded from/.test(line) || /^Downloaded from/.test(line)) {
      downloaded += 1;
      onProgress?.({ part, downloaded, line });
    }
  }).catch((error: unknown) => {
    throw SynclineError.permanent(
      ErrorCodes.INFRA_FAILED,
      `fetching from Maven Central failed: ${(error as Error).message}\n${output.slice(-10).join('\n')}`,
      { part },
      error,
    );
  });
}

function run(
  command: string,
  args: string[],
  part: string,
  cwd?: string,
  onLine?: (line: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let pending = '';
    const take = (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) onLine?.(line);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.once('error', (error) =>
      reject(
        SynclineError.permanent(
          ErrorCodes.INFRA_FAILED,
          `cannot run ${command}: ${error.message}`,
          { part },
          error,
        ),
      ),
    );
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args[1] ?? ''} exited with code ${code}`)),
    );
  });
}
