// The package as a user gets it. A copy of the repository is packed with `npm pack` (whose
// `prepare` script builds it), the tarball is installed with npm into throwaway apps beside the
// peer dependencies of package-lock.json, and each app is compiled by the project's tsc and run
// with node: a Nest microservice on ArrpcServer, ArrpcClient calls to it and to a Python-style
// server. The apps are CommonJS (tsconfig `module: commonjs`; `module: nodenext` without
// "type") and ESM ("type": "module"), as `nest new` makes them. Everything lives in one
// temporary folder, removed afterwards.
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageEncoder } from '../../lib/index.js';
import { runCommand, type RunResult } from '../support/processes.js';
import { startPythonPeer, type PythonPeer } from '../support/python-peer.js';
import { REPO_ROOT } from '../support/vectors.js';

const TSC = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
/** Peer dependencies an app installs beside the package, at the versions the repository tests with. */
const PEERS = [
  '@nestjs/common',
  '@nestjs/core',
  '@nestjs/microservices',
  '@nestjs/terminus',
  'prom-client',
  'reflect-metadata',
  'rxjs',
  '@types/node',
];
/** What the repository copy leaves out: installs, builds, git, test output (paths from the root). */
const NOT_COPIED = new Set(['node_modules', 'bench/node_modules', 'dist', '.git', 'coverage', '.ci/out']);
/** npm with the cache `npm ci` warmed; the registry only for what the cache lacks. */
const NPM_INSTALL = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];
const COMPILER_OPTIONS = {
  target: 'ES2023',
  strict: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  skipLibCheck: true,
  types: ['node'],
  rootDir: 'src',
  outDir: 'dist',
};
/** What `nest new` adds for `module: nodenext`. */
const NODENEXT_OPTIONS = {
  module: 'nodenext',
  moduleResolution: 'nodenext',
  resolvePackageJsonExports: true,
  esModuleInterop: true,
  isolatedModules: true,
};

interface App {
  readonly name: string;
  /** package.json's "type"; none for CommonJS, as `nest new` writes it. */
  readonly type?: 'module';
  readonly compilerOptions: Record<string, unknown>;
  /** How the compiled app loads the package: proves which module system it was compiled to. */
  readonly loads: RegExp;
}

const APPS: readonly App[] = [
  // node10 resolution is what `module: commonjs` gets by default in TypeScript 5 (6 deprecates it):
  // it reads neither "exports" nor "type", the oldest way a CommonJS app finds the package's types.
  {
    name: 'commonjs',
    compilerOptions: { module: 'commonjs', moduleResolution: 'node10', ignoreDeprecations: '6.0' },
    loads: /require\("nestjs-arrpc"\)/,
  },
  { name: 'nodenext-cjs', compilerOptions: NODENEXT_OPTIONS, loads: /require\("nestjs-arrpc"\)/ },
  { name: 'esm', type: 'module', compilerOptions: NODENEXT_OPTIONS, loads: /^import .* from 'nestjs-arrpc';$/m },
];

/** Files a user of the package needs, besides every file package.json points at. */
const NEEDED_FILES = [
  'package.json',
  'README.md',
  'LICENSE',
  'CHANGELOG.md',
  'SECURITY.md',
  'BENCHMARKS.md',
  'dist/lib/index.js',
  'dist/lib/index.d.ts',
  'dist/lib/terminus/index.js',
  'dist/lib/terminus/index.d.ts',
  'dist/lib/cli/main.js',
];
/** Where a packed file may come from: the build of lib/, the docs/ pages, the top-level papers. */
const SHIPPED_FILE = /^(dist\/lib\/.+\.(js|d\.ts|js\.map)|docs\/.+\.md|[A-Z]+\.md|LICENSE|package\.json)$/;

let work: string;
let packageDir: string;
let appsDir: string;
let python: PythonPeer;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'nestjs-arrpc-package-'));
  python = await startPythonPeer();
  packageDir = join(work, 'package');
  const tarball = await packRepositoryCopy(packageDir);
  appsDir = join(work, 'apps');
  await writeApps(appsDir, tarball);
  succeeded(await runCommand('npm', NPM_INSTALL, { cwd: appsDir, timeoutMs: 120_000 }), 'npm install');
}, 240_000);

afterAll(async () => {
  await python?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('npm pack --dry-run', () => {
  it('lists what a user needs, every file package.json points at, and nothing of the tests', async () => {
    const dryRun = succeeded(await runCommand('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: packageDir }), 'npm pack --dry-run');
    const [{ files }] = JSON.parse(dryRun.stdout) as [{ files: { path: string }[] }];
    const paths = files.map((file) => file.path);
    const pointedAt = entryPoints(JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')));
    expect(pointedAt).toContain('dist/lib/cli/main.js');
    for (const needed of [...NEEDED_FILES, ...pointedAt]) expect(paths).toContain(needed);
    expect(paths.filter((path) => !SHIPPED_FILE.test(path))).toEqual([]);
    expect(paths.filter((path) => /\.spec\.|\/(test|sample|bench)\//.test(path))).toEqual([]);
  });
});

// One app at a time: each tsc takes a core.
describe('the packed package in a fresh app', () => {
  it.each(APPS)('$name: compiles, starts an ArrpcServer, calls it and a Python server', async (app) => {
    const dir = join(appsDir, app.name);
    succeeded(await runCommand(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: dir, timeoutMs: 120_000 }), `tsc (${app.name})`);
    expect(await readFile(join(dir, 'dist', 'main.js'), 'utf8')).toMatch(app.loads);
    const requestsBefore = python.requests.length;
    const run = succeeded(
      await runCommand(process.execPath, [join('dist', 'main.js'), String(python.port)], { cwd: dir, timeoutMs: 30_000 }),
      `node dist/main.js (${app.name})`,
    );
    expect(JSON.parse(run.stdout)).toEqual({ fromNest: 'hello nest', fromPython: ['python', 1], terminus: 'function' });
    expect(run.stderr).toBe(''); // no warning either (require() of an ES module warns on some Node versions)
    expect(python.requests.slice(requestsBefore)).toContainEqual(Buffer.from(new MessageEncoder().encode({ return: ['python', 1] })));
  }, 180_000);

});

describe('the installed nestjs-arrpc bin', () => {
  it('prints the package version and calls a Python server', async () => {
    const bin = join(appsDir, 'node_modules', '.bin', 'nestjs-arrpc');
    const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(await runCommand(bin, ['--version'], { cwd: appsDir })).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
    const call = await runCommand(bin, ['call', `127.0.0.1:${python.port}`, '{"return": {"$bin": "00ff"}}'], { cwd: appsDir, timeoutMs: 30_000 });
    expect(call).toMatchObject({ code: 0, stdout: '{"$bin":"00ff"}\n', stderr: '' });
  }, 60_000);
});

/** Copies the repository to `dir` (sources, not installs or builds) and packs it there; resolves the tarball's path. */
async function packRepositoryCopy(dir: string): Promise<string> {
  const copied = (source: string): boolean => !NOT_COPIED.has(relative(REPO_ROOT, source)) && !source.endsWith('.tgz');
  await cp(REPO_ROOT, dir, { recursive: true, filter: copied });
  // The build (the `prepare` script) needs the compiler and the types; the copy borrows them.
  await symlink(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const packed = succeeded(await runCommand('npm', ['pack', '--json', '--pack-destination', '..'], { cwd: dir, timeoutMs: 120_000 }), 'npm pack');
  const [{ filename }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as [{ filename: string }];
  return join(dir, '..', filename);
}

/** The files package.json's main, types, bin, exports and typesVersions name, without "./". */
function entryPoints(manifest: Record<string, unknown>): string[] {
  const strings = (value: unknown): string[] =>
    typeof value === 'string' ? [value] : value !== null && typeof value === 'object' ? Object.values(value).flatMap(strings) : [];
  const { main, types, bin, exports, typesVersions } = manifest;
  return strings([main, types, bin, exports, typesVersions]).map((path) => path.replace(/^\.\//, ''));
}

/** One folder of installs (`dir`) holding an app per entry of APPS, each with its own package.json and tsconfig.json. */
async function writeApps(dir: string, tarball: string): Promise<void> {
  const lock = JSON.parse(await readFile(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version: string }>;
  };
  const dependencies = Object.fromEntries(PEERS.map((name) => [name, lock.packages[`node_modules/${name}`]!.version]));
  await mkdir(dir, { recursive: true });
  await writeJson(join(dir, 'package.json'), {
    name: 'apps',
    private: true,
    dependencies: { 'nestjs-arrpc': `file:${tarball}`, ...dependencies },
  });
  for (const app of APPS) {
    const appDir = join(dir, app.name);
    await mkdir(join(appDir, 'src'), { recursive: true });
    await writeJson(join(appDir, 'package.json'), { name: app.name, private: true, type: app.type });
    await writeJson(join(appDir, 'tsconfig.json'), { compilerOptions: { ...COMPILER_OPTIONS, ...app.compilerOptions }, include: ['src'] });
    await cp(join(REPO_ROOT, 'test', 'package', 'app', 'main.ts'), join(appDir, 'src', 'main.ts'));
  }
}

function writeJson(file: string, value: unknown): Promise<void> {
  return writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** `result` when the command exited 0; otherwise throws with its output. */
function succeeded(result: RunResult, what: string): RunResult {
  if (result.code !== 0) throw new Error(`${what} exited ${result.code ?? result.signal}:\n${result.stdout}\n${result.stderr}`);
  return result;
}
