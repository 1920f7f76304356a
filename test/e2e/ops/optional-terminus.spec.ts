// `@nestjs/terminus` is an optional peer dependency: only the `nestjs-arrpc/terminus` entry
// (lib/terminus) may load it, so the main entry works where it is not installed.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { REPO_ROOT } from '../../support/vectors.js';

// Every import of '@nestjs/terminus', from any module of the graph, fails as if it were not installed.
vi.mock('@nestjs/terminus', () => {
  throw new Error("Cannot find package '@nestjs/terminus'");
});

const LIB = join(REPO_ROOT, 'lib');
const TERMINUS_ENTRY = join(LIB, 'terminus');

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourcesUnder(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('@nestjs/terminus stays optional', () => {
  it('is imported by no module under lib/ but lib/terminus', () => {
    const importers = sourcesUnder(LIB)
      .filter((file) => /from\s+['"]@nestjs\/terminus['"]|import\(\s*['"]@nestjs\/terminus['"]/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(REPO_ROOT, file));
    expect(importers.length).toBeGreaterThan(0);
    expect(importers.filter((file) => !file.startsWith(relative(REPO_ROOT, TERMINUS_ENTRY)))).toEqual([]);
  });

  it('leaves the main entry importable while @nestjs/terminus cannot be resolved', async () => {
    const library = await import('../../../lib/index.js');
    expect(typeof library.ArrpcServer).toBe('function');
    expect(typeof library.ArrpcClient).toBe('function');
  });

  it('fails the terminus entry alone (the mock above really stands for a missing package)', async () => {
    const error = await import('../../../lib/terminus/index.js').then(() => undefined, (reason: Error) => reason);
    expect(error).toBeInstanceOf(Error);
    // vitest wraps the factory's error; the cause is the "missing package" one.
    expect(String((error as Error).cause)).toMatch(/Cannot find package '@nestjs\/terminus'/);
  });
});
