// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Governed} from "./Governed.sol";

/// The fee of each lane (source chain => destination chain), decided by governance.
/// `fee` is what the source port takes per message, in wei of the source chain's
/// native token; `maxDstGasPrice` is the destination gas price (wei/gas) up to which
/// that fee is taken to cover delivery. Above it the relayer holds the lane's
/// messages until governance raises the fee (and this bound) or the price falls,
/// so no exchange-rate oracle is needed. 0 means no bound (the price is not checked).
/// Entries reach member ports as registry snapshot leaves (kind 4).
contract LaneFeeRegistry is Governed {
    struct Entry {
        string srcChain;
        string dstChain;
        uint128 fee;
        uint128 maxDstGasPrice;
        uint64 updatedAt;
    }

    mapping(bytes32 => Entry) private entries;
    bytes32[] private keys;

    /// CAIP-2 ids are at most 41 characters.
    uint256 private constant MAX_CHAIN_ID = 64;

    event LaneFeeSet(bytes32 indexed key, string srcChain, string dstChain, uint128 fee, uint128 maxDstGasPrice);

    error BadChainId(string chainId);

    constructor(address governor_) Governed(governor_) {}

    /// Sets (or changes) a lane's fee; a fee of 0 makes the lane free again.
    function setFee(string calldata srcChain, string calldata dstChain, uint128 fee, uint128 maxDstGasPrice) external onlyGovernor {
        _checkChain(srcChain);
        _checkChain(dstChain);
        bytes32 k = key(srcChain, dstChain);
        Entry storage e = entries[k];
        if (e.updatedAt == 0) {
            keys.push(k);
            e.srcChain = srcChain;
            e.dstChain = dstChain;
        }
        e.fee = fee;
        e.maxDstGasPrice = maxDstGasPrice;
        e.updatedAt = uint64(block.timestamp);
        emit LaneFeeSet(k, srcChain, dstChain, fee, maxDstGasPrice);
    }

    // ------------------------------------------------------------------ views

    /// The snapshot leaf key of a lane: keccak256(abi.encode(keccak256(src), keccak256(dst))).
    function key(string calldata srcChain, string calldata dstChain) public pure returns (bytes32) {
        return keccak256(abi.encode(keccak256(bytes(srcChain)), keccak256(bytes(dstChain))));
    }

    /// updatedAt 0: governance never set a fee on the lane (it is free, unchecked).
    function feeOf(string calldata srcChain, string calldata dstChain) external view returns (uint128 fee, uint128 maxDstGasPrice, uint64 updatedAt) {
        Entry storage e = entries[key(srcChain, dstChain)];
        return (e.fee, e.maxDstGasPrice, e.updatedAt);
    }

    function count() external view returns (uint256) {
        return keys.length;
    }

    function at(uint256 i) external view returns (string memory srcChain, string memory dstChain, uint128 fee, uint128 maxDstGasPrice, uint64 updatedAt) {
        Entry storage e = entries[keys[i]];
        return (e.srcChain, e.dstChain, e.fee, e.maxDstGasPrice, e.updatedAt);
    }

    function _checkChain(string calldata c) private pure {
        bytes calldata b = bytes(c);
        if (b.length < 3 || b.length > MAX_CHAIN_ID) revert BadChainId(c);
        bool colon;
        for (uint256 i = 0; i < b.length; i++) {
            if (b[i] == ":") colon = true;
        }
        if (!colon) revert BadChainId(c);
    }
}
