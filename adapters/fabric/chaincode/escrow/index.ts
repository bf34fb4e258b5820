import { QiaoEscrowContract } from './contract.ts';

export const contracts = [QiaoEscrowContract];
export { QiaoEscrowContract };
