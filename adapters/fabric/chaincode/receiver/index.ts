import { QiaoReceiverContract } from './contract.ts';

export const contracts = [QiaoReceiverContract];
export { QiaoReceiverContract };
