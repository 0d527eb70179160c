/**
 * `npm run ops -- <command>`: what ops can see of the installations, never a token.
 *
 *   stores [--status <status>] [--limit N] [--cursor C]   installations, tombstones included, a page at a time
 *   store <storeId>                                        one installation's lifecycle
 *
 * Source (one of):
 *   --stack-name <name> [--region <region>]   the deployed stack (default name EcwidAppAuth), with your AWS credentials
 *   --local [url]                             the running local stack (default http://localhost:3000)
 *
 * Output: a table, or one JSON object per line with --json.
 */
import { parseArgs } from 'node:util';
import type { InstallationStatus } from '../functions/core/model';
import type { InstallationReport } from '../functions/runtime/installation-report';
import { DEFAULT_STACK_NAME } from '../lib/stack-context';
import { deployedSource, localSource, type StoreSource } from './ops/sources';

/** Stores per page when `--limit` is not given. */
const DEFAULT_PAGE_SIZE = 50;
const STATUSES: readonly InstallationStatus[] = ['active', 'needs_reinstall', 'suspended', 'store_gone', 'needs_attention', 'uninstalled'];
const USAGE = `Usage:
  npm run ops -- stores [--status <${STATUSES.join('|')}>] [--limit N] [--cursor C] [--json] [source]
  npm run ops -- store <storeId> [--json] [source]
Source: --stack-name <name> [--region <region>] (default: stack ${DEFAULT_STACK_NAME}, your AWS credentials), or --local [url]`;

/** A mistake in the command line: the usage is printed, the exit code is 2. */
export class UsageError extends Error {}

export interface OpsIo {
  out(line: string): void;
  source(options: { stackName: string; region?: string; local?: string }): Promise<StoreSource>;
}

/** Runs one command; resolves with the exit code. */
export async function runOps(argv: string[], io: OpsIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      status: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
      json: { type: 'boolean', default: false },
      'stack-name': { type: 'string' },
      region: { type: 'string' },
      local: { type: 'boolean', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (command !== 'stores' && command !== 'store') throw new UsageError(command === undefined ? 'no command' : `unknown command ${command}`);
  // `--local` may be followed by the stack's URL, which parseArgs hands over as a positional.
  const givenLocalUrl = values.local ? rest.find((value) => /^https?:\/\//.test(value)) : undefined;
  const localUrl = values.local ? (givenLocalUrl ?? 'http://localhost:3000') : undefined;
  const operands = rest.filter((value) => value !== givenLocalUrl);
  // The flags that chose the source and the page, as given: the hint to the next page repeats them.
  const sourceFlags = values.local
    ? ['--local', ...(givenLocalUrl === undefined ? [] : [givenLocalUrl])]
    : [...(values['stack-name'] === undefined ? [] : ['--stack-name', values['stack-name']]), ...(values.region === undefined ? [] : ['--region', values.region])];

  const source = await io.source({
    stackName: values['stack-name'] ?? DEFAULT_STACK_NAME,
    ...(values.region === undefined ? {} : { region: values.region }),
    ...(localUrl === undefined ? {} : { local: localUrl }),
  });
  try {
    switch (command) {
      case 'stores': {
        if (operands.length > 0) throw new UsageError(`unexpected ${operands.join(' ')}`);
        const status = values.status;
        if (status !== undefined && !(STATUSES as readonly string[]).includes(status)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
        const limit = Number(values.limit ?? DEFAULT_PAGE_SIZE);
        if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw new UsageError('--limit must be a whole number from 1 to 1000');
        const page = await source.listStores({
          limit,
          ...(status === undefined ? {} : { status: status as InstallationStatus }),
          ...(values.cursor === undefined ? {} : { cursor: values.cursor }),
        });
        if (values.json) {
          for (const store of page.stores) io.out(JSON.stringify(store));
          if (page.cursor !== undefined) io.out(JSON.stringify({ nextCursor: page.cursor }));
          return 0;
        }
        io.out(`${page.stores.length} installation(s) from ${source.description}${status === undefined ? '' : `, status ${status}`}`);
        printTable(io, page.stores);
        if (page.cursor !== undefined) {
          const flags = [
            ...(status === undefined ? [] : ['--status', status]),
            ...(values.limit === undefined ? [] : ['--limit', values.limit]),
            ...sourceFlags,
          ];
          io.out(`More: npm run ops -- stores --cursor ${[page.cursor, ...flags].map(shellWord).join(' ')}`);
        }
        return 0;
      }
      case 'store': {
        const [id, ...extra] = operands;
        const storeId = Number(id);
        if (id === undefined || extra.length > 0 || !/^[1-9][0-9]{0,15}$/.test(id) || !Number.isSafeInteger(storeId)) throw new UsageError('store needs one store id');
        const store = await source.describeStore(storeId);
        if (store === undefined) {
          io.out(values.json ? JSON.stringify({ storeId, found: false }) : `No installation for store ${storeId} in ${source.description}`);
          return 1;
        }
        if (values.json) io.out(JSON.stringify(store));
        else for (const [field, value] of Object.entries(store)) io.out(`${field.padEnd(22)} ${value ?? '-'}`);
        return 0;
      }
      default:
        throw new UsageError(command === undefined ? 'no command' : `unknown command ${command}`);
    }
  } finally {
    source.close();
  }
}

/** A word as a POSIX shell reads it back: quoted when it holds anything but plain characters. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9._:/@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function printTable(io: OpsIo, stores: InstallationReport[]): void {
  const columns: Array<[string, (store: InstallationReport) => string]> = [
    ['store', (store) => String(store.storeId)],
    ['status', (store) => store.status],
    ['reason', (store) => store.statusReason ?? '-'],
    ['subscription', (store) => store.subscriptionStatus ?? '-'],
    ['missing scopes', (store) => (store.missingScopes.length === 0 ? '-' : store.missingScopes.join(' '))],
    ['installed', (store) => store.installedAt ?? '-'],
    ['last verified', (store) => store.lastVerifiedAt ?? store.lastRefreshedAt ?? '-'],
    ['next check', (store) => store.nextCheckAt ?? '-'],
    ['uninstalled', (store) => store.uninstalledAt ?? '-'],
  ];
  const rows = [columns.map(([title]) => title), ...stores.map((store) => columns.map(([, cell]) => cell(store)))];
  const widths = columns.map((_, index) => Math.max(...rows.map((row) => row[index]!.length)));
  for (const row of rows) io.out(row.map((cell, index) => cell.padEnd(widths[index]!)).join('  ').trimEnd());
}

if (require.main === module) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  runOps(process.argv.slice(2), {
    out: (line) => process.stdout.write(`${line}\n`),
    source: async (options) => (options.local === undefined ? deployedSource(options) : localSource(options.local)),
  }).then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
        process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
        process.exit(2);
      }
      process.stderr.write(`ops: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
