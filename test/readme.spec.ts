// Every code block of the README that is TypeScript or shell for this project is real (DECISIONS,
// "Sample, CLI, README"): the ```ts blocks compile against lib/ (imported as 'nestjs-arrpc') with the
// project's compiler options, and each ```sh command names a script, bin, flag, file, environment
// variable or HTTP route that exists. Python blocks are exempt. Kept fast: one in-memory program,
// and nothing is built or started.
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RequestMethod } from '@nestjs/common';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ARRPC_METRICS_PATH } from '../lib/index.js';
import { CLI_COMMANDS, parseCommandArgs, parseHostPort } from '../lib/cli/cli-options.js';
import { fromTaggedJson } from '../lib/cli/tagged-json.js';
import { SAMPLE_ARRPC_PORT, SAMPLE_ENV, SAMPLE_HOST, SAMPLE_HTTP_PORT } from '../sample/config.js';
import { HttpController } from '../sample/http.controller.js';
import { REPO_ROOT } from './support/vectors.js';

interface Block {
  readonly lang: string;
  readonly code: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
}

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const PACKAGE = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  bin: Record<string, string>;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};
const BLOCKS = readBlocks(README);
const CLI_BIN = 'nestjs-arrpc';
const CLI_BUILT = 'dist/lib/cli/main.js';

function readBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let open: { lang: string; line: number; body: string[] } | undefined;
  markdown.split('\n').forEach((text, index) => {
    if (text.startsWith('```')) {
      if (open) blocks.push({ lang: open.lang, code: open.body.join('\n'), line: open.line });
      open = open ? undefined : { lang: text.slice(3).trim(), line: index + 1, body: [] };
    } else {
      open?.body.push(text);
    }
  });
  return blocks;
}

const blocksOf = (lang: string): Block[] => BLOCKS.filter((block) => block.lang === lang);

describe('README', () => {
  it('fences every code block with a language this test knows', () => {
    expect(BLOCKS.length).toBeGreaterThan(0);
    for (const block of BLOCKS) expect(['ts', 'sh', 'python', 'text'], `block at line ${block.line}`).toContain(block.lang);
  });

  it('starts with the two commands that build and run the sample and the tests', () => {
    expect(BLOCKS[0]).toMatchObject({ lang: 'sh', line: 3 });
    expect(BLOCKS[0]!.code).toMatch(/^npm install && npm start\s.*\nnpm test\s/);
  });

  it('links only to headings that exist', () => {
    const anchors = headingAnchors(README);
    const links = [...README.matchAll(/\]\(#([^)]+)\)/g)].map((match) => match[1]!);
    expect(links.length).toBeGreaterThan(10);
    expect(links.filter((anchor) => !anchors.has(anchor))).toEqual([]);
  });

  it('shows the line the sample prints when ready, with its default ports', () => {
    const ready = blocksOf('text').find((block) => block.code.startsWith('nestjs-arrpc sample ready:'));
    const host = SAMPLE_HOST.replaceAll('.', '\\.');
    expect(ready?.code).toMatch(new RegExp(`^nestjs-arrpc sample ready: arrpc=${host}:${SAMPLE_ARRPC_PORT} http=${host}:${SAMPLE_HTTP_PORT} upstream=`));
  });
});

describe('README TypeScript blocks compile against lib/', () => {
  const blocks = blocksOf('ts');
  const diagnostics = compile(blocks);

  it('has some', () => expect(blocks.length).toBeGreaterThanOrEqual(5));

  it.each(blocks.map((block) => [block.line, block] as const))('the block at line %i', (_line, block) => {
    expect(diagnostics.get(block)).toEqual([]);
  });
});

describe('README shell commands name real scripts, bins, flags, files and routes', () => {
  const commands = blocksOf('sh').flatMap((block) => shellCommands(block.code).map((words) => [block.line, words.join(' '), words] as const));

  it('has some', () => expect(commands.length).toBeGreaterThanOrEqual(15));

  it.each(commands)('line %i: %s', (_line, _text, words) => {
    checkCommand(words);
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
  const files = new Map(blocks.map((block) => [join(REPO_ROOT, 'test', `readme-line-${block.line}.ts`), block]));
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
        const at = d.start === undefined ? '' : `README line ${block.line + 1 + source.getLineAndCharacterOfPosition(d.start).line}: `;
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
    case 'npx':
      if (args[0] === CLI_BIN) return checkCli(args.slice(1));
      throw new Error(`npx of something other than ${CLI_BIN}: ${args[0]}`);
    case 'node':
      if (args[0] === CLI_BUILT) return checkCli(args.slice(1));
      expect(args[0], 'node runs the built sample').toBe('dist/sample/main.js');
      expect(existsSync(join(REPO_ROOT, 'sample', 'main.ts'))).toBe(true);
      return;
    case 'curl':
      return checkCurl(args);
    case 'openssl':
      return; // run by its own test
    default:
      throw new Error(`a command this test does not know how to check: ${program}`);
  }
}

function checkNpm([verb, ...args]: string[]): void {
  if (verb === 'install') {
    const known = new Set([PACKAGE.name, ...Object.keys(PACKAGE.peerDependencies), ...Object.keys(PACKAGE.dependencies)]);
    for (const name of args.filter((arg) => !arg.startsWith('-'))) expect([...known], `package ${name}`).toContain(name);
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

/** The sample's HTTP routes, read from its controller's Nest metadata, and /metrics. */
function sampleRoutes(): [string, RegExp][] {
  const base = String(Reflect.getMetadata('path', HttpController) ?? '/').replace(/^\/?/, '/');
  const routes: [string, RegExp][] = [['GET', new RegExp(`^${ARRPC_METRICS_PATH}$`)]];
  for (const key of Object.getOwnPropertyNames(HttpController.prototype)) {
    const handler = (HttpController.prototype as unknown as Record<string, object>)[key]!;
    const path = Reflect.getMetadata('path', handler) as string | undefined;
    const method = Reflect.getMetadata('method', handler) as RequestMethod | undefined;
    if (path === undefined || method === undefined) continue;
    const full = `${base}/${path}`.replace(/\/+/g, '/').replace(/:[^/]+/g, '[^/]+');
    routes.push([RequestMethod[method], new RegExp(`^${full}$`)]);
  }
  return routes;
}
