import type { Command } from 'commander';
import { ValidationError } from '../../errors.ts';
import type { CouncilProposal } from '../../governance/council.ts';
import type { GovernedContract } from '../../governance/deploy.ts';
import type { GovernanceConnection } from '../governance.ts';
import { printJson, printTable } from '../output.ts';

function proposalId(v: string): bigint {
  if (!/^[1-9][0-9]{0,30}$/.test(v)) throw new ValidationError('id', `"${v}" is not a proposal id (a positive integer)`);
  return BigInt(v);
}

/** "ChainRegistry.approve(eip155:10)" when the target is a known contract, otherwise the raw selector. */
export function describeCall(p: Pick<CouncilProposal, 'target' | 'data'>, targets: readonly GovernedContract[]): { contract: string; call: string } {
  const t = targets.find((x) => x.address.toLowerCase() === p.target.toLowerCase());
  if (!t) return { contract: p.target, call: p.data.slice(0, 10) };
  try {
    const tx = t.iface.parseTransaction({ data: p.data });
    if (!tx) return { contract: t.name, call: p.data.slice(0, 10) };
    const args = tx.args.map((a: unknown) => (Array.isArray(a) ? `[${a.map(String).join(', ')}]` : String(a)));
    return { contract: t.name, call: `${tx.name}(${args.join(', ')})` };
  } catch {
    return { contract: t.name, call: p.data.slice(0, 10) };
  }
}

function view(p: CouncilProposal, targets: readonly GovernedContract[]) {
  const { contract, call } = describeCall(p, targets);
  return {
    id: p.id.toString(),
    state: p.state,
    emergency: p.emergency,
    approvals: p.approvals,
    needed: p.needed,
    approvedBy: p.approvedBy,
    proposer: p.proposer,
    target: p.target,
    contract,
    call,
    description: p.description,
    createdAt: new Date(Number(p.createdAt) * 1000).toISOString(),
    eta: p.eta === null ? null : new Date(Number(p.eta) * 1000).toISOString(),
    data: p.data,
  };
}

async function withGovernance<T>(o: { dataDir?: string; governanceRpc?: string }, f: (g: GovernanceConnection) => Promise<T>): Promise<T> {
  // ethers and the artifacts load only when a command runs: `qiao --help` stays fast.
  const { governance } = await import('../governance.ts');
  const g = await governance(o.dataDir, o.governanceRpc);
  try {
    return await f(g);
  } finally {
    g.close();
  }
}

type Opts = { dataDir?: string; governanceRpc?: string; json?: boolean };

function common(cmd: Command): Command {
  return cmd.option('--governance-rpc <url>', 'governance chain RPC (default: the running hub of --data-dir)').option('--data-dir <dir>', 'data folder of the hub').option('--json', 'print JSON');
}

/** `qiao governance`: the council's proposals; approve and execute them with a member key. */
export function registerGovernance(program: Command): void {
  const g = program.command('governance').description('the council that governs every registry (member key: QIAO_GOVERNANCE_KEY or the hub governor key)');
  common(g.command('proposals').description('council proposals, newest first, with their state'))
    .option('--state <state>', 'only pending|queued|ready|executed|canceled')
    .option('--limit <n>', 'at most this many', '50')
    .action(async (o: Opts & { state?: string; limit: string }) => {
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new ValidationError('limit', 'must be an integer from 1 to 10000');
      const states = ['pending', 'queued', 'ready', 'executed', 'canceled'];
      if (o.state !== undefined && !states.includes(o.state)) throw new ValidationError('state', `must be one of ${states.join(', ')}`);
      await withGovernance(o, async (c) => {
        const cfg = await c.council.config();
        const list = (await c.council.proposals({ limit: o.state ? 10_000 : limit })).filter((p) => !o.state || p.state === o.state).slice(0, limit);
        const rows = list.map((p) => view(p, c.targets));
        if (o.json) {
          return printJson({
            council: c.contracts.council,
            members: cfg.members,
            threshold: cfg.threshold,
            emergencyThreshold: cfg.emergencyThreshold,
            delaySeconds: cfg.delaySeconds.toString(),
            proposals: rows,
          });
        }
        console.log(`council ${c.contracts.council}: ${cfg.threshold} of ${cfg.members.length} members (emergency ${cfg.emergencyThreshold}), timelock ${cfg.delaySeconds} s`);
        printTable(
          rows.map((r) => ({ ...r, approvals: `${r.approvals}/${r.needed}`, kind: r.emergency ? 'emergency' : 'normal', eta: r.eta ?? '' })),
          ['id', 'state', 'kind', 'approvals', 'contract', 'call', 'eta', 'description'],
        );
      });
    });
  common(g.command('show <id>').description('one proposal')).action(async (id: string, o: Opts) => {
    const n = proposalId(id);
    await withGovernance(o, async (c) => {
      const p = await c.council.proposal(n);
      if (!p) throw new ValidationError('id', `no proposal ${n} on the council ${c.contracts.council}`);
      const v = view(p, c.targets);
      if (o.json) return printJson(v);
      for (const [k, x] of Object.entries(v)) console.log(`${k.padEnd(12)} ${Array.isArray(x) ? x.join(', ') : String(x)}`);
    });
  });
  common(g.command('approve <id>').description('approve a proposal (an emergency proposal runs once enough members approved)')).action(async (id: string, o: Opts) => {
    const n = proposalId(id);
    await withGovernance(o, async (c) => {
      const { executed, receipt } = await c.council.approve(c.sender, n);
      const p = (await c.council.proposal(n))!;
      const out = { id: n.toString(), state: p.state, executed, approvals: p.approvals, needed: p.needed, txHash: receipt.hash };
      if (o.json) return printJson(out);
      const next = p.state === 'ready' ? `; run it: qiao governance execute ${n}` : p.state === 'queued' ? `; timelock until ${new Date(Number(p.eta) * 1000).toISOString()}` : '';
      console.log(`approved proposal ${n} (${p.approvals}/${p.needed}), now ${p.state}${next} (tx ${receipt.hash})`);
    });
  });
  common(g.command('execute <id>').description('run a proposal that has its approvals and whose timelock passed')).action(async (id: string, o: Opts) => {
    const n = proposalId(id);
    await withGovernance(o, async (c) => {
      const receipt = await c.council.execute(c.sender, n);
      if (o.json) return printJson({ id: n.toString(), state: 'executed', executed: true, txHash: receipt.hash });
      console.log(`executed proposal ${n} (tx ${receipt.hash})`);
    });
  });
  common(g.command('cancel <id>').description('withdraw a proposal you made')).action(async (id: string, o: Opts) => {
    const n = proposalId(id);
    await withGovernance(o, async (c) => {
      const receipt = await c.council.cancel(c.sender, n);
      if (o.json) return printJson({ id: n.toString(), state: 'canceled', txHash: receipt.hash });
      console.log(`canceled proposal ${n} (tx ${receipt.hash})`);
    });
  });
}
