import { QiaoPortContract } from './contract.ts';

/** fabric-chaincode-node start loads `contracts` from the package's main module. */
export const contracts = [QiaoPortContract];
export { QiaoPortContract };
