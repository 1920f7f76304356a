// Without @opentelemetry/api where the library can resolve it, calls work as before and the
// library loads no copy of it. The built library runs in a child process from a temporary
// node_modules laid out as pnpm lays out a strict install: the application's dependencies are
// links to their real folders, and @opentelemetry/api is not among them. prom-client depends on
// the API itself and loads its own copy from beside its real folder, as it would under pnpm; the
// test checks that nothing but prom-client loaded one.
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSampleAndCli } from '../../support/build.js';
import { runNode } from '../../support/processes.js';
import { REPO_ROOT } from '../../support/vectors.js';

const OTEL_API = '@opentelemetry/api';

/** Serves one handler with ArrpcServer, calls it with ArrpcClient, and reports what loaded the API. */
const CHILD = `
import 'reflect-metadata';
import { createRequire } from 'node:module';
import { NestFactory } from '@nestjs/core';
import { ArrpcClient, ArrpcServer } from 'nestjs-arrpc';

const server = new ArrpcServer({ port: 0 });
server.addHandler('echo', async (data) => data);
const app = await NestFactory.createMicroservice({ module: class AppModule {} }, { strategy: server, logger: false });
await app.listen();
const client = new ArrpcClient({ port: server.unwrap().address().port, peer: 'nestjs-arrpc' });
const answer = await client.call('echo', { n: 1 });
await client.close();
await app.close();

let resolved;
try {
  resolved = createRequire(import.meta.resolve('nestjs-arrpc')).resolve('${OTEL_API}');
} catch (error) {
  resolved = error.code;
}
// Every module that required a file of the API from outside the API itself.
const cache = createRequire(import.meta.url).cache;
const apiFiles = Object.keys(cache).filter((file) => file.includes('/${OTEL_API}/'));
const loadedBy = [...new Set(apiFiles.map((file) => cache[file].parent?.filename).filter((file) => file && !file.includes('/${OTEL_API}/')))];
console.log(JSON.stringify({ answer, resolved, loadedBy }));
`;

describe('without @opentelemetry/api', () => {
  let root: string;

  beforeAll(async () => {
    await buildSampleAndCli();
    root = await mkdtemp(join(tmpdir(), 'arrpc-no-otel-'));
    const modules = join(root, 'node_modules');
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
    };
    await mkdir(join(modules, 'nestjs-arrpc', 'dist'), { recursive: true });
    await cp(join(REPO_ROOT, 'package.json'), join(modules, 'nestjs-arrpc', 'package.json'));
    await cp(join(REPO_ROOT, 'dist', 'lib'), join(modules, 'nestjs-arrpc', 'dist', 'lib'), { recursive: true });
    const required = Object.keys(pkg.peerDependencies).filter((name) => !pkg.peerDependenciesMeta[name]?.optional);
    for (const name of [...Object.keys(pkg.dependencies), ...required]) {
      await mkdir(dirname(join(modules, name)), { recursive: true });
      await symlink(join(REPO_ROOT, 'node_modules', name), join(modules, name), 'dir');
    }
    await writeFile(join(root, 'main.mjs'), CHILD);
  }, 120_000);

  afterAll(async () => {
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  it('serves and answers a call, and only prom-client loads the API', async () => {
    const result = await runNode([join(root, 'main.mjs')]);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { answer: unknown; resolved: string; loadedBy: string[] };
    expect(report.answer).toEqual({ n: 1 });
    expect(report.resolved).toBe('MODULE_NOT_FOUND');
    expect(report.loadedBy.length).toBeGreaterThan(0);
    for (const file of report.loadedBy) expect(file).toContain('/node_modules/prom-client/');
  });
});
