// Every code block of the README and of docs/*.md that is TypeScript or shell for this project is
// real (DECISIONS, "Sample, CLI, README"): the ```ts blocks compile against lib/ (imported as
// 'nestjs-arrpc') with the project's compiler options, and each ```sh command names a script, bin,
// flag, file, environment variable or HTTP route that exists. Python blocks are exempt. Every
// relative link of those pages (and of SECURITY.md, BENCHMARKS.md, sample/deploy/README.md) leads
// to a file and heading that exist, and the README stays short. Kept fast: one in-memory program,
// and nothing is built or started.
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { RequestMethod } from '@nestjs/common';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ARRPC_METRICS_PATH } from '../lib/index.js';
import { CLI_COMMANDS, parseCommandArgs, parseHostPort } from '../lib/cli/cli-options.js';
import { fromTaggedJson } from '../lib/cli/tagged-json.js';
import { SAMPLE_ARRPC_PORT, SAMPLE_ENV, SAMPLE_HOST, SAMPLE_HTTP_PORT } from '../sample/config.js';
import { HealthController } from '../sample/health.controller.js';
import { HttpController } from '../sample/http.controller.js';
import { REPO_ROOT } from './support/vectors.js';

interface Block {
  /** The page, relative to the repository: `README.md`, `docs/client.md`... */
  readonly page: string;
  readonly lang: string;
  readonly code: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
}

const PACKAGE = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};
/** The pages whose code blocks are checked: the README, then every docs/ page. */
const PAGES = ['README.md', ...readdirSync(join(REPO_ROOT, 'docs')).filter((name) => name.endsWith('.md')).sort().map((name) => `docs/${name}`)];
/** Pages whose links are checked besides those. */
const LINKED_PAGES = [...PAGES, 'SECURITY.md', 'BENCHMARKS.md', 'sample/deploy/README.md'];
/** Files another branch of issue 17 adds (the package's papers); linked before they land. */
const PAPERS = new Set(['LICENSE', 'CHANGELOG.md']);
const README = read('README.md');
const BLOCKS = PAGES.flatMap((page) => readBlocks(page, read(page)));
const CLI_BIN = 'nestjs-arrpc';
const CLI_BUILT = 'dist/lib/cli/main.js';
const CLI_INSTALLED = `./node_modules/.bin/${CLI_BIN}`;
/** Where the README says to clone the repository from. */
const REPOSITORY_URL = 'https://github.com/nestjs-arrpc/nestjs-arrpc.git';
/** The Python reference the docs install. */
const PYTHON_ARRPC = 'arrpc==0.5.0';
/** The README's size bound, in bytes (the issue: "under 25 KB"). */
const README_MAX_BYTES = 25_000;

function read(page: string): string {
  return readFileSync(join(REPO_ROOT, page), 'utf8');
}

function readBlocks(page: string, markdown: string): Block[] {
  const blocks: Block[] = [];
  let open: { lang: string; line: number; body: string[] } | undefined;
  markdown.split('\n').forEach((text, index) => {
    if (text.startsWith('```')) {
      if (open) blocks.push({ page, lang: open.lang, code: open.body.join('\n'), line: open.line });
      open = open ? undefined : { lang: text.slice(3).trim(), line: index + 1, body: [] };
    } else {
      open?.body.push(text);
    }
  });
  return blocks;
}

const blocksOf = (lang: string): Block[] => BLOCKS.filter((block) => block.lang === lang);
const where = (block: Block): string => `${block.page}:${block.line}`;

describe('README', () => {
  it('starts with the two commands that build and run the sample and the tests', () => {
    expect(BLOCKS[0]).toMatchObject({ page: 'README.md', lang: 'sh', line: 3 });
    expect(BLOCKS[0]!.code).toMatch(/^npm install && npm start\s.*\nnpm test\s/);
  });

  it(`stays under ${README_MAX_BYTES} bytes: the reference lives in docs/`, () => {
    expect(Buffer.byteLength(README)).toBeLessThan(README_MAX_BYTES);
  });

  it('links to every docs/ page, and docs/README.md lists them all', () => {
    const pages = PAGES.filter((page) => page.startsWith('docs/'));
    const contents = read('docs/README.md');
    for (const page of pages) {
      expect(README, page).toContain(`](${page})`);
      if (page !== 'docs/README.md') expect(contents, page).toContain(`](${basename(page)})`);
    }
  });
});

describe('README and docs/', () => {
  it('fence every code block with a language this test knows', () => {
    expect(BLOCKS.length).toBeGreaterThan(0);
    for (const block of BLOCKS) expect(['ts', 'sh', 'python', 'text'], where(block)).toContain(block.lang);
  });

  it.each(LINKED_PAGES)('%s links only to files and headings that exist', (page) => {
    const broken = relativeLinks(page).filter((link) => !linkResolves(page, link));
    expect(broken).toEqual([]);
  });

  it('show the line the sample prints when ready, with its default ports', () => {
    const ready = blocksOf('text').find((block) => block.code.startsWith('nestjs-arrpc sample ready:'));
    const host = SAMPLE_HOST.replaceAll('.', '\\.');
    expect(ready?.code).toMatch(new RegExp(`^nestjs-arrpc sample ready: arrpc=${host}:${SAMPLE_ARRPC_PORT} http=${host}:${SAMPLE_HTTP_PORT} upstream=`));
  });
});

/** The relative links of a page (`[text](target)`), code blocks left out. */
function relativeLinks(page: string): string[] {
  const text = read(page).replace(/^```[\s\S]*?^```$/gm, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!).filter((target) => !/^[a-z]+:/.test(target));
}

/** True when `link`, from `page`, names an existing file (or one of {@link PAPERS}) and, after `#`, one of its headings. */
function linkResolves(page: string, link: string): boolean {
  const [path, anchor] = link.split('#') as [string, string | undefined];
  const target = path === '' ? page : relative(REPO_ROOT, join(REPO_ROOT, dirname(page), path));
  if (!existsSync(join(REPO_ROOT, target))) return anchor === undefined && PAPERS.has(target);
  return anchor === undefined || (target.endsWith('.md') && headingAnchors(read(target)).has(anchor));
}

describe('TypeScript blocks compile against lib/', () => {
  const blocks = blocksOf('ts');
  const diagnostics = compile(blocks);

  it('has some on every page that shows code', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(15);
    for (const page of ['README.md', 'docs/server.md', 'docs/client.md', 'docs/errors.md', 'docs/operations.md', 'docs/metrics.md']) {
      expect(blocks.some((block) => block.page === page), page).toBe(true);
    }
  });

  it.each(blocks.map((block) => [where(block), block] as const))('the block at %s', (_where, block) => {
    expect(diagnostics.get(block)).toEqual([]);
  });
});

describe('shell commands name real scripts, bins, flags, files and routes', () => {
  const commands = blocksOf('sh').flatMap((block) => shellCommands(block.code).map((words) => [where(block), words.join(' '), words] as const));

  it('has some', () => expect(commands.length).toBeGreaterThanOrEqual(20));

  it.each(commands)('%s: %s', (_where, _text, words) => {
    checkCommand(words);
  });

  it('never runs npx, which would look the package up on the registry, where it is not yet', () => {
    expect(commands.filter(([, text]) => text.startsWith('npx '))).toEqual([]);
  });

  it('runs the openssl command as written, which makes a certificate for 127.0.0.1', () => {
    const line = commands.map(([, text]) => text).find((text) => text.startsWith('openssl '));
    expect(line).toBeDefined();
    if (spawnSync('openssl', ['version']).status !== 0) return; // no openssl here: checked by name only
    const dir = mkdtempSync(join(tmpdir(), 'readme-openssl-'));
    try {
      const run = spawnSync('sh', ['-c', line!], { cwd: dir, encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      const cert = new X509Certificate(readFileSync(join(dir, 'server.crt')));
      expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
      expect(existsSync(join(dir, 'server.key'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * Compiles the blocks as files of the project (its tsconfig.json), 'nestjs-arrpc' mapped to
 * lib/index.ts and 'nestjs-arrpc/terminus' to lib/terminus/index.ts.
 */
function compile(blocks: Block[]): Map<Block, string[]> {
  const config = ts.readConfigFile(join(REPO_ROOT, 'tsconfig.json'), (path) => ts.sys.readFile(path));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, REPO_ROOT);
  const options: ts.CompilerOptions = {
    ...parsed.options,
    noEmit: true,
    paths: {
      [PACKAGE.name]: [join(REPO_ROOT, 'lib', 'index.ts')],
      [`${PACKAGE.name}/terminus`]: [join(REPO_ROOT, 'lib', 'terminus', 'index.ts')],
    },
  };
  // In test/, so module resolution and the package's "type": "module" apply as to any test file.
  const fileOf = (block: Block): string => join(REPO_ROOT, 'test', `${block.page.replace(/[/.]/g, '-')}-line-${block.line}.ts`);
  const files = new Map(blocks.map((block) => [fileOf(block), block]));
  const host = ts.createCompilerHost(options);
  const real = { fileExists: host.fileExists, readFile: host.readFile, getSourceFile: host.getSourceFile };
  host.fileExists = (file) => files.has(file) || real.fileExists.call(host, file);
  host.readFile = (file) => files.get(file)?.code ?? real.readFile.call(host, file);
  host.getSourceFile = (file, language, ...rest) => {
    const block = files.get(file);
    return block ? ts.createSourceFile(file, block.code, language) : real.getSourceFile.call(host, file, language, ...rest);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  const result = new Map<Block, string[]>();
  for (const [file, block] of files) {
    const source = program.getSourceFile(file)!;
    const found = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
    result.set(
      block,
      found.map((d) => {
        const at = d.start === undefined ? '' : `${block.page} line ${block.line + 1 + source.getLineAndCharacterOfPosition(d.start).line}: `;
        return at + ts.flattenDiagnosticMessageText(d.messageText, '\n');
      }),
    );
  }
  return result;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  const outsideCode = markdown.replace(/^```[\s\S]*?^```$/gm, '');
  for (const [, title] of outsideCode.matchAll(/^#{1,6} (.+)$/gm)) {
    const base = title!.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** The commands of a shell block, as words: quotes removed, comments dropped, split at && || | ;. */
function shellCommands(code: string): string[][] {
  const commands: string[][] = [];
  for (const line of code.replace(/\\\n/g, ' ').split('\n')) {
    let words: string[] = [];
    let word: string | undefined;
    let quote: string | undefined;
    const end = (): void => {
      if (word !== undefined) words.push(word);
      word = undefined;
    };
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (quote) {
        if (c === quote) quote = undefined;
        else word += c;
      } else if (c === "'" || c === '"') {
        quote = c;
        word ??= '';
      } else if (c === ' ' || c === '\t') {
        end();
      } else if (c === '#' && word === undefined) {
        break;
      } else if ('&|;'.includes(c)) {
        end();
        if (words.length > 0) commands.push(words);
        words = [];
        if (line[i + 1] === c) i++;
      } else {
        word = (word ?? '') + c;
      }
    }
    end();
    if (words.length > 0) commands.push(words);
  }
  return commands;
}

function checkCommand(words: readonly string[]): void {
  let rest = [...words];
  while (/^[A-Z_][A-Z0-9_]*=/.test(rest[0] ?? '')) {
    const name = rest.shift()!.split('=')[0]!;
    expect(SAMPLE_ENV as readonly string[], `environment variable ${name}`).toContain(name);
  }
  const [program, ...args] = rest;
  switch (program) {
    case 'npm':
      return checkNpm(args);
    case CLI_INSTALLED:
      return checkCli(args);
    case 'node':
      if (args[0] === CLI_BUILT) return checkCli(args.slice(1));
      expect(args[0], 'node runs the built sample').toBe('dist/sample/main.js');
      expect(existsSync(join(REPO_ROOT, 'sample', 'main.ts'))).toBe(true);
      return;
    case 'curl':
      return checkCurl(args);
    case 'git':
      expect(args, 'git clones this repository').toEqual(['clone', REPOSITORY_URL]);
      return;
    case 'cd':
      expect(args, 'cd into the clone, then into an app beside it').toHaveLength(1);
      expect(['nestjs-arrpc', '../your-app']).toContain(args[0]);
      return;
    case 'pip':
      expect(args, 'pip installs the Python reference the tests are captured from').toEqual(['install', PYTHON_ARRPC]);
      return;
    case 'openssl':
      return; // run by its own test
    default:
      throw new Error(`a command this test does not know how to check: ${program}`);
  }
}

function checkNpm([verb, ...args]: string[]): void {
  if (verb === 'pack') return expect(args).toEqual([]);
  if (verb === 'install') {
    const tarball = `${PACKAGE.name}-${PACKAGE.version}.tgz`;
    const known = new Set([PACKAGE.name, ...Object.keys(PACKAGE.peerDependencies), ...Object.keys(PACKAGE.dependencies)]);
    for (const name of args.filter((arg) => !arg.startsWith('-'))) {
      // A tarball is the one `npm pack` writes in the clone.
      if (name.endsWith('.tgz')) expect(name, 'the packed tarball').toBe(`../${PACKAGE.name}/${tarball}`);
      else expect([...known], `package ${name}`).toContain(name);
    }
    const required = Object.keys(PACKAGE.peerDependencies).filter((name) => !PACKAGE.peerDependenciesMeta?.[name]?.optional);
    if (args.length > 0) expect(args, 'every required peer dependency').toEqual(expect.arrayContaining(required));
    return;
  }
  const script = verb === 'run' ? args[0] : verb;
  expect(Object.keys(PACKAGE.scripts), `npm script ${script}`).toContain(script);
}

function checkCli(args: string[]): void {
  expect(PACKAGE.bin[CLI_BIN]).toBe(`./${CLI_BUILT}`);
  const [command, ...rest] = args;
  if (command === '--help' || command === '-h') return;
  expect(Object.keys(CLI_COMMANDS), 'CLI command').toContain(command);
  const name = command as keyof typeof CLI_COMMANDS;
  const { values, positionals } = parseCommandArgs(name, CLI_COMMANDS[name], rest); // throws on an unknown flag
  if (values.help || name === 'serve') return;
  expect(positionals, 'call HOST:PORT JSON').toHaveLength(2);
  parseHostPort(positionals[0]!);
  fromTaggedJson(JSON.parse(positionals[1]!));
}

function checkCurl(args: string[]): void {
  const method = args.includes('-X') ? args[args.indexOf('-X') + 1]! : 'GET';
  const url = new URL(args.find((arg) => arg.startsWith('http'))!);
  expect(url.host, 'the sample HTTP address').toBe(`${SAMPLE_HOST}:${SAMPLE_HTTP_PORT}`);
  expect(sampleRoutes().some(([m, route]) => m === method && route.test(url.pathname)), `${method} ${url.pathname}`).toBe(true);
}

/** The sample's HTTP routes, read from its controllers' Nest metadata, and /metrics. */
function sampleRoutes(): [string, RegExp][] {
  const routes: [string, RegExp][] = [['GET', new RegExp(`^${ARRPC_METRICS_PATH}$`)]];
  for (const controller of [HttpController, HealthController]) {
    const base = String(Reflect.getMetadata('path', controller) ?? '/').replace(/^\/?/, '/');
    for (const key of Object.getOwnPropertyNames(controller.prototype)) {
      const handler = (controller.prototype as unknown as Record<string, object>)[key]!;
      const path = Reflect.getMetadata('path', handler) as string | undefined;
      const method = Reflect.getMetadata('method', handler) as RequestMethod | undefined;
      if (path === undefined || method === undefined) continue;
      const full = `${base}/${path}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1').replace(/:[^/]+/g, '[^/]+');
      routes.push([RequestMethod[method], new RegExp(`^${full}$`)]);
    }
  }
  return routes;
}
