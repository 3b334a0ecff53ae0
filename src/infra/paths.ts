/**
 * Where the local stack keeps things. Downloads (Kafka jars, the registry archive) go to a cache outside
 * the repo, shared by every checkout and kept between runs; each stack's data, logs and pid files go to
 * its own home folder, by default `.syncline/` in the checkout (ignored by git).
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.SYNCLINE_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'syncline'));
}

export function defaultStackHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.SYNCLINE_HOME ?? join(process.cwd(), '.syncline'));
}
