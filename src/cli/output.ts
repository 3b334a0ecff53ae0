/**
 * How commands talk to people and to machines. With `--json` a reporting command prints exactly one
 * JSON object (or JSON lines for exports) on stdout and nothing else there; progress and human text go
 * to stderr so that pipes stay clean.
 */

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function printJsonLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Human-facing lines. They go to stdout unless the command is in --json mode, then to stderr. */
export function say(text: string, json = false): void {
  (json ? process.stderr : process.stdout).write(`${text}\n`);
}

/**
 * A small progress reporter for long work: a bar on a terminal, a line every few seconds elsewhere
 * (CI logs), always on stderr.
 */
export class Progress {
  private readonly started = Date.now();
  private lastPrinted = 0;
  private readonly label: string;
  private readonly total: number | undefined;

  constructor(label: string, total?: number) {
    this.label = label;
    this.total = total;
  }

  update(done: number, detail = ''): void {
    const now = Date.now();
    const tty = process.stderr.isTTY;
    if (!tty && now - this.lastPrinted < 3000) return;
    this.lastPrinted = now;
    const seconds = ((now - this.started) / 1000).toFixed(0);
    const part = this.total && this.total > 0 ? `${bar(done / this.total)} ${done}/${this.total}` : `${done}`;
    const text = `${this.label} ${part} ${detail} (${seconds}s)`;
    if (tty) process.stderr.write(`\r\x1b[2K${text}`);
    else process.stderr.write(`${text}\n`);
  }

  done(detail = ''): void {
    const seconds = ((Date.now() - this.started) / 1000).toFixed(1);
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
    process.stderr.write(`${this.label} done ${detail} (${seconds}s)\n`);
  }
}

function bar(fraction: number): string {
  const width = 24;
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}
