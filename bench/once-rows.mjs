// The rows of scenarios.mjs's ONCE list: each script run once, after the rounds, toward the servers
// it names (started pinned, killed after); a failure is reported in its section, not thrown, so
// the rest of the run still prints.
import { describeRecordDecode } from './record-decode.mjs';
import { runPinned, startServer } from './processes.mjs';

/** Results by name: the script's JSON line, or `{ failed }`. `context` is startServer's. */
export async function runOnceRows(specs, context) {
  const results = new Map();
  for (const spec of specs) {
    try {
      results.set(spec.name, await runOnce(spec, context));
      console.error(`once, ${spec.name}: done`);
    } catch (error) {
      results.set(spec.name, { failed: String(error.message).split('\n')[0] });
      console.error(`once, ${spec.name}: failed`, error);
    }
  }
  return results;
}

async function runOnce(spec, context) {
  const wanted = Object.entries(spec.servers).filter(([, server]) => !server.server.endsWith('.py') || !context.python.skipped);
  const started = [];
  try {
    for (const [key, scenario] of wanted) started.push([key, await startServer(scenario, context)]);
    return runPinned(spec.script, started.flatMap(([key, server]) => [`--${key}`, `127.0.0.1:${server.port}`]));
  } finally {
    for (const [, server] of started) server.process.kill('SIGKILL');
  }
}

export function printOnceRows(specs, results) {
  for (const spec of specs) {
    const result = results.get(spec.name);
    console.log(`\n### ${spec.label}\n`);
    if (result.failed) console.log(`not measured: ${result.failed}`);
    else if (!result.rows) console.log(describeRecordDecode(result));
    else {
      console.log(`| client | median ms | range ms | repeats |\n|---|---|---|---|`);
      for (const row of result.rows) console.log(`| ${row.label} | ${row.ms.toFixed(1)} | ${row.minMs.toFixed(1)}–${row.maxMs.toFixed(1)} | ${row.repeats} |`);
    }
  }
}
