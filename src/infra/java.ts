/**
 * Finding a Java runtime of a given major version. Kafka runs on Java 17+; Apicurio Registry 3.3 on
 * 21+. Machines often have several JDKs (the default one and others under /usr/lib/jvm), so we look at
 * an explicit override first, then JAVA_HOME, then `java` on PATH, then every JDK under /usr/lib/jvm.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface JavaRuntime {
  path: string;
  major: number;
}

export function javaMajor(javaPath: string): number | undefined {
  try {
    const out = execFileSync(javaPath, ['-version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return parseMajor(out);
  } catch (error) {
    // `java -version` prints to stderr; execFileSync returns stdout, so read stderr from the error
    // when the exit code is non-zero, and from a second call otherwise.
    const stderr = (error as { stderr?: string }).stderr;
    return stderr ? parseMajor(stderr) : undefined;
  }
}

function parseMajor(text: string): number | undefined {
  const match = text.match(/version "(\d+)(?:\.(\d+))?/);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 ? Number(match[2]) : first;
}

function javaVersionOutput(javaPath: string): string {
  try {
    // Java writes its version to stderr; merge it into what we read.
    return execFileSync('sh', ['-c', `"${javaPath}" -version 2>&1`], { encoding: 'utf8' });
  } catch {
    return '';
  }
}

/** Every Java runtime we can find, in order of preference. */
export function candidateJavas(
  env: NodeJS.ProcessEnv = process.env,
  overrideVariable?: string,
): JavaRuntime[] {
  const paths: string[] = [];
  const override = overrideVariable ? env[overrideVariable] : undefined;
  if (override) paths.push(override.endsWith('/java') ? override : join(override, 'bin', 'java'));
  if (env.JAVA_HOME) paths.push(join(env.JAVA_HOME, 'bin', 'java'));
  const onPath = whichJava();
  if (onPath) paths.push(onPath);
  const jvmRoot = '/usr/lib/jvm';
  if (existsSync(jvmRoot)) {
    for (const name of readdirSync(jvmRoot).sort().reverse()) paths.push(join(jvmRoot, name, 'bin', 'java'));
  }
  const seen = new Set<string>();
  const found: JavaRuntime[] = [];
  for (const path of paths) {
    if (seen.has(path) || !existsSync(path)) continue;
    seen.add(path);
    const major = parseMajor(javaVersionOutput(path));
    if (major !== undefined) found.push({ path, major });
  }
  return found;
}

/** The first Java runtime of at least `minMajor`, or undefined with the list of what was found. */
export function findJava(
  minMajor: number,
  env: NodeJS.ProcessEnv = process.env,
  overrideVariable?: string,
): { java?: JavaRuntime; found: JavaRuntime[] } {
  const found = candidateJavas(env, overrideVariable);
  const java = found.find((candidate) => candidate.major >= minMajor);
  return java ? { java, found } : { found };
}

function whichJava(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v java'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}
