// Child processes for the e2e tests of the sample, the CLI and the packed package: started with
// `node` (or any command, `runCommand`), their output collected line by line, and every one still
// running killed by `killAll()` (call it in afterAll).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { REPO_ROOT } from './vectors.js';

/** How a process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A long-running child (a server) whose stdout lines can be waited for. */
export class NodeProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  /** Resolves when the process has exited. */
  readonly exited: Promise<Exit>;
  private waiters: (() => void)[] = [];

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1', ...env } });
    running.add(this);
    this.child.stdout.on('data', (chunk: Buffer) => this.append('stdout', chunk));
    this.child.stderr.on('data', (chunk: Buffer) => this.append('stderr', chunk));
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        running.delete(this);
        resolve({ code, signal });
        this.notify();
      });
    });
  }

  /** The first stdout line matching `pattern`, waiting up to `timeoutMs`; throws with the output if none comes. */
  async waitForLine(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const line of this.stdout.split('\n')) {
        const match = pattern.exec(line);
        if (match) return match;
      }
      if (!running.has(this) || Date.now() > deadline) {
        throw new Error(`no line matching ${pattern} (${running.has(this) ? 'timed out' : 'exited'});\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()) + 1);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends `signal` and resolves with the exit, or throws when the process has not exited within `timeoutMs` (it is then killed). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<Exit & { elapsedMs: number }> {
    const started = Date.now();
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const result = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.child.kill('SIGKILL');
      throw new Error(`did not exit within ${timeoutMs} ms of ${signal};\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
    }
    return { ...result, elapsedMs: Date.now() - started };
  }

  private append(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    this[stream] += chunk.toString();
    this.notify();
  }

  private notify(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}

const running = new Set<NodeProcess>();

/** Kills (SIGKILL) every child still running and waits for them. */
export async function killAll(): Promise<void> {
  const left = [...running];
  for (const process of left) process.child.kill('SIGKILL');
  await Promise.all(left.map((process) => process.exited));
}

/** What a short-lived command printed and how it ended. */
export interface RunResult extends Exit {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node ...args` to its end (killed after `timeoutMs`), feeding `input` to stdin. */
export async function runNode(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const child = new NodeProcess(args, options.env);
  child.child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
  const exit = await child.exited;
  clearTimeout(timer);
  return { ...exit, stdout: child.stdout, stderr: child.stderr };
}

/** Runs `command ...args` in `cwd` to its end (killed after `timeoutMs`), stdin closed; never throws for a failed exit. */
export function runCommand(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, NO_COLOR: '1', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
