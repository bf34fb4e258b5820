// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IQiaoReceiver} from "../../adapters/evm/contracts/IQiaoReceiver.sol";

/// Test-only receiver: records the gas it was given, so a test can check that the
/// port forwards the full gasLimit whenever it does not revert with InsufficientGas.
contract GasProbe is IQiaoReceiver {
    mapping(bytes32 => uint256) public gasAtEntry;

    function qiaoReceive(bytes32 id, string calldata, bytes calldata, bytes calldata) external {
        gasAtEntry[id] = gasleft();
    }
}
