/**
 * Starting, finding and stopping the background servers of the local stack. Each server we start has a
 * pid file in the stack home; "ours" means the pid file names a live process whose command line is the
 * one we started, so `down` never stops something it did not start.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { connect } from 'node:net';
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';

export interface ManagedProcess {
  pid: number;
  pidFile: string;
}

export interface StartOptions {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
  pidFile: string;
  /** A string that must appear in /proc/<pid>/cmdline for the pid to count as ours. */
  marker: string;
}

/** Starts a detached server whose output goes to its log file; it outlives this process. */
export function startDetached(options: StartOptions): ManagedProcess {
  mkdirSync(dirname(options.logFile), { recursive: true });
  mkdirSync(dirname(options.pidFile), { recursive: true });
  const log = openSync(options.logFile, 'a');
  try {
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', log, log],
    });
    if (child.pid === undefined) throw new Error(`could not start ${options.command}`);
    child.unref();
    writeFileSync(options.pidFile, `${child.pid}\n${options.marker}\n`);
    return { pid: child.pid, pidFile: options.pidFile };
  } finally {
    closeSync(log);
  }
}

/** The live process recorded in the pid file, if it is still the one we started. */
export function findOurs(pidFile: string): ManagedProcess | undefined {
  if (!existsSync(pidFile)) return undefined;
  const [pidText, marker] = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0 || !marker) return undefined;
  if (!isAlive(pid)) return undefined;
  const cmdline = readCmdline(pid);
  if (cmdline !== undefined && !cmdline.includes(marker)) return undefined;
  return { pid, pidFile };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers kill(0); treat it as gone.
    const stat = readProcFile(pid, 'stat');
    return !(stat && / Z /.test(stat));
  } catch {
    return false;
  }
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL. Removes the pid file. Returns how it ended. */
export async function stopProcess(proc: ManagedProcess, graceMs: number): Promise<'stopped' | 'killed'> {
  signalGroup(proc.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(proc.pid)) {
      rmSync(proc.pidFile, { force: true });
      return 'stopped';
    }
    await sleep(200);
  }
  signalGroup(proc.pid, 'SIGKILL');
  while (isAlive(proc.pid)) await sleep(100);
  rmSync(proc.pidFile, { force: true });
  return 'killed';
}

export interface ExistingServer {
  part: string;
  pidFile: string;
  host: string;
  port: number;
  /** What the port should hold, for the refusal: `a Kafka broker`, `the reference ERP`. */
  what: string;
  healthy: () => Promise<boolean>;
}

/**
 * Whether `up` has to start a server: `already-running` when our own is alive, `external` when
 * another healthy server of the kind holds the port (used, never stopped), `start` when the port is
 * free. A port held by anything else is refused, naming the port.
 */
export async function existingServer(
  server: ExistingServer,
): Promise<'already-running' | 'external' | 'start'> {
  if (findOurs(server.pidFile)) return 'already-running';
  if (!(await portOpen(server.host, server.port))) return 'start';
  if (await server.healthy()) return 'external';
  throw SynclineError.permanent(
    ErrorCodes.INFRA_FAILED,
    `port ${server.port} is taken by something that is not ${server.what}`,
    { part: server.part },
  );
}

/** Stops the server recorded in the pid file if it is ours; never touches anything else. */
export async function stopIfOurs(
  pidFile: string,
  graceMs: number,
): Promise<'stopped' | 'killed' | 'not-ours'> {
  const ours = findOurs(pidFile);
  if (!ours) return 'not-ours';
  return stopProcess(ours, graceMs);
}

/** True when an HTTP GET of the URL answers 2xx within the time. */
export async function httpOk(url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

export interface ReadyWait {
  /** The part's name for messages: `kafka`, `registry`, `erp`. */
  part: string;
  /** How people call it: `Kafka`, `the registry`, `the ERP`. */
  label: string;
  logFile: string;
  timeoutMs: number;
  intervalMs: number;
  /** The server's pid while it starts, so a crash is noticed at once; undefined if already running. */
  pid: number | undefined;
}

/**
 * Waits until `check` passes; a server that dies or stays unready fails with a permanent INFRA_FAILED
 * naming the part, its log file and the log lines that say what went wrong.
 */
export async function awaitReady(check: () => Promise<boolean>, wait: ReadyWait): Promise<void> {
  const outcome = await waitFor(check, {
    timeoutMs: wait.timeoutMs,
    pid: wait.pid,
    intervalMs: wait.intervalMs,
  });
  if (outcome === 'ready') return;
  const reason =
    outcome === 'died'
      ? `${wait.label} exited during start-up`
      : `${wait.label} did not become ready in time`;
  throw SynclineError.permanent(
    ErrorCodes.INFRA_FAILED,
    `${reason}; last log lines:\n${tail(wait.logFile)}`,
    {
      part: wait.part,
      logFile: wait.logFile,
    },
  );
}

/** Resident memory of a process in MiB, from /proc (Linux), or undefined elsewhere. */
export function residentMemoryMiB(pid: number): number | undefined {
  const status = readProcFile(pid, 'status');
  const match = status?.match(/^VmRSS:\s+(\d+)\s+kB/m);
  return match ? Math.round(Number(match[1]) / 1024) : undefined;
}

/** True when something accepts TCP connections on host:port. */
export function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Polls `check` until it is true, the process died, or the time is up. */
export async function waitFor(
  check: () => Promise<boolean>,
  options: { timeoutMs: number; pid?: number; intervalMs?: number },
): Promise<'ready' | 'died' | 'timeout'> {
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return 'ready';
    if (options.pid !== undefined && !isAlive(options.pid)) return 'died';
    await sleep(options.intervalMs ?? 250);
  }
  return 'timeout';
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The last lines of a log file, for error messages. */
export function tail(file: string, lines = 5): string {
  try {
    // Java stack frames say little to an operator: keep the lines that say what went wrong.
    const meaningful = readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .filter((line) => !/^\s+at |^\s+\.\.\. \d+ more/.test(line));
    return meaningful.slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  // The server was started detached, so it leads its own process group: signal the group, so that
  // a wrapper script and its java child go together.
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

function readCmdline(pid: number): string | undefined {
  return readProcFile(pid, 'cmdline')?.replaceAll('\0', ' ');
}

function readProcFile(pid: number, name: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    return undefined;
  }
}
