import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../local/dynamodb-local';

/**
 * `npm start` and `npm run send` as a developer runs them: the real commands in child processes,
 * judged by what they print, how they exit and which processes they leave behind.
 */
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');
// Bounds, not waits: every wait below ends as soon as the awaited line or exit arrives.
const START_LIMIT_MS = 120_000;
const STOP_LIMIT_MS = 30_000;

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: Run[] = [];
/** Every process seen below a run: a failing run may leave some behind its npm, which cleanup then ends. */
const seen = new Map<number, string>();
let tempDir: string | undefined;

function run(command: string, args: string[], env: Record<string, string>): Run {
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  const handle = { child, stdout: () => stdout, stderr: () => stderr, exited };
  started.push(handle);
  return handle;
}

function npmStart(env: Record<string, string>): Run {
  tempDir ??= mkdtempSync(join(tmpdir(), 'local-run-'));
  return run('npm', ['start', '--silent'], { LOCAL_DEV_SETTINGS_FILE: join(tempDir, 'sandbox.json'), ...env });
}

function npmSend(args: string[]): Run {
  return run('npm', ['run', '--silent', 'send', '--', ...args], {
    LOCAL_DEV_SETTINGS_FILE: join(tempDir!, 'sandbox.json'),
  });
}

async function waitFor(runToWatch: Run, pattern: RegExp, limitMs = START_LIMIT_MS): Promise<RegExpMatchArray> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const match = pattern.exec(runToWatch.stdout());
    if (match) return match;
    if (runToWatch.child.exitCode !== null || runToWatch.child.signalCode !== null || Date.now() > deadline) {
      throw new Error(
        `no line matching ${pattern} (exit ${runToWatch.child.exitCode ?? runToWatch.child.signalCode}):\n${runToWatch.stdout()}\n${runToWatch.stderr()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function exitWithin(runToWatch: Run, limitMs = STOP_LIMIT_MS) {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`still running after ${limitMs} ms:\n${runToWatch.stdout().slice(-2000)}\n${runToWatch.stderr()}`),
        ),
      limitMs,
    );
  });
  try {
    return await Promise.race([runToWatch.exited, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** The processes below `root` (read from /proc), with their command lines. */
function descendants(root: number): { pid: number; cmdline: string }[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: the fields after the last ')' are fixed.
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // the process ended while the table was read
    }
  }
  const found: { pid: number; cmdline: string }[] = [];
  const visit = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${child}/cmdline`, 'utf8').replaceAll('\0', ' ');
      } catch {
        // gone meanwhile
      }
      found.push({ pid: child, cmdline });
      seen.set(child, cmdline);
      visit(child);
    }
  };
  visit(root);
  return found;
}

/** A process that exited and was reaped has no /proc entry; a zombie (state Z) is as good as gone. */
function isRunning(pid: number): boolean {
  if (!existsSync(`/proc/${pid}`)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function gone(pids: number[], limitMs = STOP_LIMIT_MS): Promise<number[]> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const left = pids.filter(isRunning);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

afterEach(() => {
  for (const leftover of started.splice(0)) {
    if (leftover.child.exitCode === null && leftover.child.signalCode === null) {
      for (const process of descendants(leftover.child.pid!)) seen.set(process.pid, process.cmdline);
      leftover.child.kill('SIGKILL');
    }
  }
  for (const [pid, cmdline] of seen) {
    try {
      // Only the very process seen: its pid may have been reused since.
      if (isRunning(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ') === cmdline)
        process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  seen.clear();
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  tempDir = undefined;
});

describe('npm start', () => {
  it("stops everything, DynamoDB Local's Java included, on kill -TERM of npm, and exits 0", {
    timeout: START_LIMIT_MS + 2 * STOP_LIMIT_MS,
  }, async () => {
    const bridge = npmStart({ PORT: '0' });
    await waitFor(bridge, /^Ready \(pid \d+\)\./m);
    const tree = descendants(bridge.child.pid!);
    const java = tree.filter((process) => process.cmdline.includes('DynamoDBLocal.jar'));
    expect(java).toHaveLength(1);

    bridge.child.kill('SIGTERM');

    expect(await exitWithin(bridge)).toEqual({ code: 0, signal: null });
    expect(bridge.stdout()).toMatch(/SIGTERM: stopping the bridge, the sandboxes and DynamoDB Local…\nstopped\./);
    expect(await gone(tree.map((process) => process.pid))).toEqual([]);
  });

  it('stops everything, Java included, on SIGHUP (the terminal went away) and on SIGINT (Ctrl-C) to the printed pid', {
    timeout: 2 * (START_LIMIT_MS + 2 * STOP_LIMIT_MS),
  }, async () => {
    for (const signal of ['SIGHUP', 'SIGINT'] as const) {
      const bridge = npmStart({ PORT: '0' });
      const pid = Number((await waitFor(bridge, /^Ready \(pid (\d+)\)\./m))[1]);
      const tree = descendants(bridge.child.pid!);
      expect(tree.map((process) => process.pid)).toContain(pid);
      expect(tree.filter((process) => process.cmdline.includes('DynamoDBLocal.jar'))).toHaveLength(1);

      // A terminal that went away takes the output with it: writes then fail, and must not stop the shutdown.
      if (signal === 'SIGHUP') bridge.child.stdout!.destroy();
      process.kill(pid, signal);

      expect(await exitWithin(bridge)).toEqual({ code: 0, signal: null });
      if (signal === 'SIGINT')
        expect(bridge.stdout()).toContain('SIGINT: stopping the bridge, the sandboxes and DynamoDB Local…');
      expect(await gone(tree.map((process) => process.pid))).toEqual([]);
    }
  });

  it('fails at once with one clear line when its port is taken, starting nothing', {
    timeout: START_LIMIT_MS,
  }, async () => {
    const port = await freePort();
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    try {
      const second = npmStart({ PORT: String(port) });
      const exit = await exitWithin(second, START_LIMIT_MS);
      expect(exit.code).toBe(1);
      expect(second.stderr().trim()).toBe(
        `port ${port} is taken: is another \`npm start\` running? Stop it, or set PORT=… (e.g. PORT=${port + 1} npm start)`,
      );
      expect(second.stdout().trim()).toBe('');
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('says Java 17 is needed when there is no java, instead of a connection error', {
    timeout: START_LIMIT_MS,
  }, async () => {
    // A PATH with node, npm and sh but no java.
    tempDir ??= mkdtempSync(join(tmpdir(), 'local-run-'));
    const bin = join(tempDir, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync('/bin/sh', join(bin, 'sh'));
    const npmCli = join(dirname(process.execPath), '../lib/node_modules/npm/bin/npm-cli.js');
    const noJava = run(process.execPath, [npmCli, 'start', '--silent'], {
      PORT: '0',
      PATH: bin,
      LOCAL_DEV_SETTINGS_FILE: join(tempDir, 'sandbox.json'),
    });
    const exit = await exitWithin(noJava, START_LIMIT_MS);
    expect(exit.code).toBe(1);
    expect(noJava.stderr()).toContain(
      'DynamoDB Local needs Java 17 or later: install it (e.g. apt-get install openjdk-17-jre-headless)',
    );
    expect(noJava.stderr()).not.toContain('ECONNREFUSED');
  });

  it('prints every request it answers with the time, the refusals with why, and npm run send fails on a refusal', {
    timeout: START_LIMIT_MS + 3 * STOP_LIMIT_MS,
  }, async () => {
    const bridge = npmStart({ PORT: '0' });
    await waitFor(bridge, /^Ready \(pid \d+\)\./m);

    const stop = npmSend(['typing', 'c-1', 'u-7', 'stop']);
    expect((await exitWithin(stop)).code).toBe(0);
    await waitFor(
      bridge,
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[request\] POST \/chat\/[^/]+\/typing → 2\d\d/m,
      STOP_LIMIT_MS,
    );

    const refused = npmSend(['typing', 'c-1', 'u-7', 'sideways']);
    expect((await exitWithin(refused)).code).toBe(1);
    expect(refused.stderr()).toMatch(/^400 \{"error":\{"code":"[a-z_]+","message":".+"\}\}/);
    await waitFor(
      bridge,
      /\[request\] POST \/chat\/[^/]+\/typing → 400 \{"error":\{"code":"[a-z_]+","message":/m,
      STOP_LIMIT_MS,
    );

    bridge.child.kill('SIGTERM');
    expect((await exitWithin(bridge)).code).toBe(0);

    const nobody = npmSend(['get-presence', 'u-7']);
    expect((await exitWithin(nobody)).code).toBe(1);
    const url = /^Kommo Live Bridge is listening on (\S+)/m.exec(bridge.stdout())![1];
    expect(nobody.stderr().trim()).toBe(`no bridge running on ${url} (start it with npm start)`);
  });
});
