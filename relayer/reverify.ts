import { Contract, Interface, getAddress, type JsonRpcProvider } from 'ethers';
import type { SourceProof } from '../src/domain/adapter.ts';
import { ROOT_TYPE, recoverAttestor } from '../src/domain/attestation.ts';
import { parseEvmChainId } from '../src/domain/caip.ts';
import type { ChainRegistration } from '../src/domain/chain.ts';
import type { Hex } from '../src/domain/hex.ts';
import { MessageTree } from '../src/domain/merkle.ts';
import { decodeMessage, messageId } from '../src/domain/message.ts';
import { AttestorSetClient } from '../src/governance/attestor-set.ts';
import type { GovernanceClient } from '../src/governance/client.ts';
import { makeProvider } from '../src/evm/provider.ts';
import type { MessageDetail } from '../src/api/client.ts';
import { portArtifacts } from '../adapters/evm/artifacts.ts';
import { verifySourceProof, type TrustedAnchor } from './verify-source.ts';

export interface StepCheck {
  step: string;
  ok: boolean;
  detail: string;
}

/**
 * Re-checks a message's whole timeline from its stored proofs, against the
 * trust roots in the registry and, where they still serve the state, against
 * the chains themselves. Nothing the index says about status is believed:
 * every step is recomputed from bytes, roots, signatures and chain reads.
 */
export async function reverifyMessage(
  m: MessageDetail,
  { gov, registrations, allowLocalDev }: { gov: GovernanceClient; registrations: ChainRegistration[]; allowLocalDev: boolean },
): Promise<StepCheck[]> {
  const out: StepCheck[] = [];
  const regs = new Map(registrations.map((r) => [r.chainId as string, r]));
  const providers = new Map<string, JsonRpcProvider>();
  const provider = (chainId: string): JsonRpcProvider | null => {
    const reg = regs.get(chainId);
    if (!reg || reg.family !== 'evm' || !reg.endpoints[0]) return null;
    if (!providers.has(chainId)) providers.set(chainId, makeProvider(reg.endpoints[0], parseEvmChainId(reg.chainId), { timeoutMs: 5000 }));
    return providers.get(chainId)!;
  };
  const step = (name: string, ok: boolean, detail: string) => out.push({ step: name, ok, detail });
  try {
    // The message itself: the id is the hash of the bytes, and the bytes say what the row says.
    const id = m.id as Hex;
    let msg;
    try {
      msg = decodeMessage(m.encoded as Hex);
    } catch (err) {
      step('message', false, `stored bytes do not decode: ${err instanceof Error ? err.message : String(err)}`);
      return out;
    }
    const idOk = messageId(m.encoded as Hex) === id;
    const fieldsOk = msg.srcChain === m.srcChain && msg.dstChain === m.dstChain && msg.nonce.toString() === m.nonce;
    step('message', idOk && fieldsOk, idOk ? (fieldsOk ? 'id = keccak256(bytes); fields match' : 'fields differ from the bytes') : 'id is not keccak256 of the stored bytes');

    const at = (status: string) => m.timeline.find((t) => t.status === status);

    const verified = at('verified');
    if (verified) {
      const reg = regs.get(m.srcChain);
      const proof = verified.proof as (SourceProof & { anchor?: TrustedAnchor }) | null;
      if (!reg) step('verified', false, `source chain ${m.srcChain} is not in the registry`);
      else if (!proof) step('verified', false, 'no stored proof');
      else {
        const height = BigInt(verified.height ?? proof.height);
        let anchor: TrustedAnchor | null = proof.anchor ?? null;
        let against = 'the stored anchor';
        // Frontier (EVM + grandpa): the anchor is a Substrate block, not the eth one; the stored GRANDPA anchor stands.
        const p = reg.lightClient === 'grandpa' ? null : provider(m.srcChain);
        if (p) {
          try {
            const block = (await p.send('eth_getBlockByNumber', [`0x${height.toString(16)}`, false])) as { hash: Hex; stateRoot: Hex } | null;
            if (block) {
              const fresh: TrustedAnchor = reg.lightClient === 'local-dev' ? { kind: 'block-hash', hash: block.hash.toLowerCase() as Hex } : { kind: 'state-root', hash: block.hash.toLowerCase() as Hex, stateRoot: block.stateRoot.toLowerCase() as Hex };
              if (anchor && anchor.hash !== fresh.hash) {
                step('verified', false, `the chain now serves block ${fresh.hash} at ${height}, the stored anchor says ${anchor.hash}`);
                anchor = null;
              } else {
                anchor = fresh;
                against = `${m.srcChain} block ${fresh.hash}`;
              }
            }
          } catch {
            against = 'the stored anchor (chain unreachable)';
          }
        }
        if (anchor) {
          const v = verifySourceProof(reg, proof, { height, ids: [id], anchor }, { allowLocalDev });
          step('verified', v.ok, v.ok ? `commitment proven at height ${height} against ${against} (${reg.lightClient})` : `${v.reason}: ${v.detail}`);
        } else if (!out.some((s) => s.step === 'verified')) step('verified', false, 'no trusted anchor for the proof');
      }
    }

    const committed = at('committed');
    let batch: { batchNo: bigint; root: Hex; ids: Hex[] } | null = null;
    if (committed) {
      const pr = committed.proof as { batchNo?: string; root?: Hex } | null;
      if (!pr?.batchNo || !pr.root) step('committed', false, 'no stored batch proof');
      else {
        const batchNo = BigInt(pr.batchNo);
        const onChain = await gov.batch(batchNo);
        const logged = onChain ? await gov.batchIds(batchNo, onChain.blockNumber) : null;
        if (!onChain || !logged) step('committed', false, `batch ${batchNo} is not in the MessageLog`);
        else {
          const root = MessageTree.of(logged.ids).root;
          const ok = onChain.root === pr.root.toLowerCase() && root === onChain.root && logged.ids.includes(id);
          step('committed', ok, ok ? `batch ${batchNo} root ${onChain.root} holds the id (recomputed from the logged ids)` : `stored root ${pr.root}, MessageLog root ${onChain.root}, recomputed ${root}, id logged: ${logged.ids.includes(id)}`);
          batch = { batchNo, root: onChain.root, ids: logged.ids };
        }
      }
    }

    const attested = at('attested');
    if (attested) {
      const pr = attested.proof as { setId?: string; threshold?: number; signatures?: { attestor: string; signature: Hex }[] } | null;
      if (!pr?.signatures || !batch) step('attested', false, batch ? 'no stored signatures' : 'no committed batch to check signatures against');
      else {
        const setId = BigInt(pr.setId ?? '0');
        // Any set the AttestorSet ever activated is in its history; contracts from before it was kept know only the current one.
        const set = (await new AttestorSetClient(gov).handOver(setId).catch(() => null)) ?? (await gov.attestors());
        const members = new Set(setId === set.setId ? set.members.map((x) => getAddress(x)) : []);
        const threshold = setId === set.setId ? set.threshold : (pr.threshold ?? Number.MAX_SAFE_INTEGER);
        const signers = new Set<string>();
        const domain = { chainId: gov.chainId, verifyingContract: gov.addresses.messageLog };
        for (const s of pr.signatures) {
          try {
            const who = recoverAttestor(domain, { rootType: ROOT_TYPE.messages, setId, batchNo: batch.batchNo, root: batch.root }, s.signature);
            if (who === getAddress(s.attestor) && (members.size === 0 || members.has(who))) signers.add(who);
          } catch {
            // a malformed signature counts for nothing
          }
        }
        const ok = signers.size >= threshold;
        step('attested', ok, `${signers.size} valid signature(s) of set ${setId} over root ${batch.root}, threshold ${threshold}${members.size === 0 ? ' (set no longer current: members not checked)' : ''}`);
      }
    }

    for (const status of ['delivered', 'failed'] as const) {
      const t = at(status);
      if (!t || !t.txHash) continue;
      const p = provider(m.dstChain);
      const reg = regs.get(m.dstChain);
      if (!p || !reg) {
        step(status, false, `destination ${m.dstChain} is not reachable through the registry`);
        continue;
      }
      const artifacts = await portArtifacts();
      const iface = new Interface(artifacts.QiaoPort.abi as never);
      const receipt = await p.getTransactionReceipt(t.txHash);
      const ev = receipt?.logs
        .filter((l) => l.address.toLowerCase() === reg.port.toLowerCase())
        .map((l) => iface.parseLog(l))
        .find((e) => e?.name === 'MessageDelivered' && (e.args[0] as string).toLowerCase() === id);
      const onChain = Number(await new Contract(reg.port, iface, p).getFunction('receipts')(id));
      const want = status === 'delivered' ? 1 : 2;
      const ok = !!ev && (ev.args[1] as boolean) === (status === 'delivered') && (status === 'failed' || onChain === want);
      step(status, ok, ok ? `${m.dstChain} tx ${t.txHash} emitted MessageDelivered(${status === 'delivered'}); port receipt ${onChain}` : `no matching MessageDelivered in ${t.txHash} (port receipt ${onChain})`);
    }
    return out;
  } finally {
    for (const p of providers.values()) p.destroy();
  }
}
