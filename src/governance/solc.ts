import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QiaoError } from '../errors.ts';

export class CompileError extends QiaoError {
  constructor(message: string, options: { cause?: unknown; data?: Record<string, unknown> } = {}) {
    super('solidity_compile_failed', message, options);
  }
}

export interface CompiledContract {
  abi: unknown[];
  bytecode: string;
  deployedBytecode: string;
}

export type CompiledSet = Record<string, CompiledContract>;

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);

export const SOLC_SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  // Cancun keeps the ports deployable on today's permissioned EVMs (Besu, Quorum) as well as anvil.
  evmVersion: 'cancun',
  // The port's message struct and calldata arguments need more stack than the legacy pipeline gives.
  viaIR: true,
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
} as const;

/** Default cache: shared by the hub and tests; keyed by source hash, so stale entries are never used. */
export function defaultSolcCacheDir(): string {
  return process.env.QIAO_SOLC_CACHE ?? join(PROJECT_ROOT, 'node_modules', '.cache', 'qiao-solc');
}

function resolveImport(path: string, fromDir: string): string {
  if (path.startsWith('./') || path.startsWith('../')) return resolve(fromDir, path);
  // Package imports such as @openzeppelin/contracts/... resolve from node_modules.
  return require.resolve(path);
}

async function collectSources(entry: string[]): Promise<Map<string, { key: string; content: string }>> {
  const out = new Map<string, { key: string; content: string }>();
  const queue = entry.map((p) => resolve(p));
  while (queue.length) {
    const abs = queue.shift()!;
    if (out.has(abs)) continue;
    let content: string;
    try {
      content = await readFile(abs, 'utf8');
    } catch (cause) {
      throw new CompileError(`cannot read Solidity source ${abs}`, { cause });
    }
    out.set(abs, { key: abs.startsWith(PROJECT_ROOT) ? abs.slice(PROJECT_ROOT.length + 1) : abs, content });
    for (const m of content.matchAll(/^\s*import\s+(?:[^'"]*from\s+)?["']([^"']+)["']/gm)) {
      queue.push(resolveImport(m[1]!, dirname(abs)));
    }
  }
  return out;
}

/**
 * Compiles Solidity offline with the `solc` npm package, once per source set:
 * the result is cached under the hash of every source, the compiler version and
 * the settings.
 */
export async function compileSolidity(files: string[], { cacheDir = defaultSolcCacheDir() }: { cacheDir?: string } = {}): Promise<CompiledSet> {
  const sources = await collectSources(files);
  const keyOf = new Map<string, string>();
  // solc sees project-relative keys; imports are rewritten to those keys.
  const input: Record<string, { content: string }> = {};
  for (const [abs, s] of sources) keyOf.set(abs, s.key);
  for (const [abs, s] of sources) {
    const content = s.content.replace(/^(\s*import\s+(?:[^'"]*from\s+)?["'])([^"']+)(["'])/gm, (_all, a: string, p: string, b: string) => {
      const target = resolveImport(p, dirname(abs));
      return `${a}${keyOf.get(target)}${b}`;
    });
    input[s.key] = { content };
  }
  const solcVersion = (require('solc/package.json') as { version: string }).version;
  const hash = createHash('sha256')
    .update(JSON.stringify({ solcVersion, settings: SOLC_SETTINGS, input: Object.entries(input).sort(([a], [b]) => a.localeCompare(b)) }))
    .digest('hex');
  const cacheFile = join(cacheDir, `${hash}.json`);
  try {
    return JSON.parse(await readFile(cacheFile, 'utf8')) as CompiledSet;
  } catch {
    // not cached yet
  }
  const solc = require('solc') as { compile(input: string): string };
  const output = JSON.parse(solc.compile(JSON.stringify({ language: 'Solidity', sources: input, settings: SOLC_SETTINGS }))) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length) throw new CompileError(`solc: ${errors.map((e) => e.formattedMessage).join('\n')}`);
  const result: CompiledSet = {};
  const wanted = new Set(files.map((f) => keyOf.get(resolve(f))));
  for (const [file, contracts] of Object.entries(output.contracts ?? {})) {
    if (!wanted.has(file)) continue;
    for (const [name, c] of Object.entries(contracts)) {
      result[name] = { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}`, deployedBytecode: `0x${c.evm.deployedBytecode.object}` };
    }
  }
  await mkdir(cacheDir, { recursive: true });
  // Unique per call: test workers can be threads of one process, compiling the same set side by side.
  const tmp = `${cacheFile}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(tmp, JSON.stringify(result));
  await rename(tmp, cacheFile);
  return result;
}

export const CONTRACT_DIRS = {
  governance: join(PROJECT_ROOT, 'src', 'governance', 'contracts'),
  evmPort: join(PROJECT_ROOT, 'adapters', 'evm', 'contracts'),
} as const;
