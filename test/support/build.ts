// Builds what the e2e tests run as child processes (the sample and the CLI) exactly as `npm start`
// does: `tsc -p tsconfig.sample.json`, which emits dist/sample and dist/lib (the CLI included).
// Test files run in parallel forks, so one build at a time (a lock directory), and none when the
// sources have not changed since the last one (a stamp of their sizes and times).
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './processes.js';
import { REPO_ROOT } from './vectors.js';

const DIST = join(REPO_ROOT, 'dist');
const STAMP = join(DIST, '.e2e-build-stamp');
const LOCK = join(DIST, '.e2e-build-lock');
/** A lock older than this was left by a killed run. */
const STALE_LOCK_MS = 180_000;
const TSC = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** The CLI entry, as built. */
export const CLI_ENTRY = join(DIST, 'lib', 'cli', 'main.js');
/** The sample entry, as built. */
export const SAMPLE_ENTRY = join(DIST, 'sample', 'main.js');

/** Runs `tsc -p tsconfig.sample.json` unless its output is up to date; throws with tsc's output if it fails. */
export async function buildSampleAndCli(): Promise<void> {
  await mkdir(DIST, { recursive: true });
  await withLock(async () => {
    const fingerprint = await sourcesFingerprint();
    if ((await readFile(STAMP, 'utf8').catch(() => '')) === fingerprint) return;
    const { code, stdout, stderr } = await runCommand(process.execPath, [TSC, '-p', 'tsconfig.sample.json'], { cwd: REPO_ROOT, timeoutMs: STALE_LOCK_MS });
    if (code !== 0) throw new Error(`tsc -p tsconfig.sample.json exited ${code}:\n${stdout}${stderr}`);
    await writeFile(STAMP, fingerprint);
  });
}

async function withLock(body: () => Promise<void>): Promise<void> {
  for (;;) {
    try {
      await mkdir(LOCK);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const since = await stat(LOCK).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (since > STALE_LOCK_MS) await rm(LOCK, { recursive: true, force: true });
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    await body();
  } finally {
    await rm(LOCK, { recursive: true, force: true });
  }
}

/** Sizes and modification times of everything tsc reads from the project. */
async function sourcesFingerprint(): Promise<string> {
  const files = [
    ...(await listFiles(join(REPO_ROOT, 'lib'))),
    ...(await listFiles(join(REPO_ROOT, 'sample'))),
    ...['tsconfig.json', 'tsconfig.sample.json', 'package.json'].map((name) => join(REPO_ROOT, name)),
  ].sort();
  const hash = createHash('sha256');
  for (const file of files) {
    const { size, mtimeMs } = await stat(file);
    hash.update(`${file}\0${size}\0${mtimeMs}\n`);
  }
  return hash.digest('hex');
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}
