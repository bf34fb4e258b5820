// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Governed} from "./Governed.sol";

/// Member chains and their trust roots. Operators submit; governance decides.
contract ChainRegistry is Governed {
    enum Status {
        None,
        Pending,
        Approved,
        Suspended,
        Frozen,
        Retired
    }

    struct Chain {
        string chainId; // CAIP-2
        bytes32 genesisHash;
        uint8 family; // index into CHAIN_FAMILIES (src/domain/chain.ts)
        bytes port;
        uint8 lightClient; // index into LIGHT_CLIENT_TYPES
        bytes trustRoot;
        string finality; // JSON FinalityRule
        string[] endpoints;
        address operator;
        Status status;
        uint64 updatedAt;
    }

    mapping(bytes32 => Chain) private chains;
    bytes32[] private keys;

    event ChainSubmitted(bytes32 indexed key, string chainId, address indexed operator);
    event ChainStatusChanged(bytes32 indexed key, string chainId, Status status);
    event EndpointsChanged(bytes32 indexed key, string chainId);
    event TrustRootChanged(bytes32 indexed key, string chainId, bytes trustRoot);

    error BadChainId(string chainId);
    error AlreadyRegistered(string chainId);
    error UnknownChain(string chainId);
    error NotOperator(address caller);
    error BadTransition(Status from, Status to);

    constructor(address governor_) Governed(governor_) {}

    function submit(
        string calldata chainId,
        bytes32 genesisHash,
        uint8 family,
        bytes calldata port,
        uint8 lightClient,
        bytes calldata trustRoot,
        string calldata finality,
        string[] calldata endpoints
    ) external {
        bytes memory b = bytes(chainId);
        // CAIP-2 is fully validated by the hub; the contract keeps the cheap bound.
        if (b.length < 5 || b.length > 41) revert BadChainId(chainId);
        bytes32 key = keccak256(b);
        Chain storage c = chains[key];
        if (c.status != Status.None && c.status != Status.Pending) revert AlreadyRegistered(chainId);
        if (c.status == Status.Pending && c.operator != msg.sender) revert NotOperator(msg.sender);
        if (c.status == Status.None) keys.push(key);
        c.chainId = chainId;
        c.genesisHash = genesisHash;
        c.family = family;
        c.port = port;
        c.lightClient = lightClient;
        c.trustRoot = trustRoot;
        c.finality = finality;
        c.endpoints = endpoints;
        c.operator = msg.sender;
        c.status = Status.Pending;
        c.updatedAt = uint64(block.timestamp);
        emit ChainSubmitted(key, chainId, msg.sender);
        emit ChainStatusChanged(key, chainId, Status.Pending);
    }

    /// Endpoints are operational data: the chain's operator keeps them current.
    function setEndpoints(string calldata chainId, string[] calldata endpoints) external {
        bytes32 key = keccak256(bytes(chainId));
        Chain storage c = chains[key];
        if (c.status == Status.None) revert UnknownChain(chainId);
        if (c.operator != msg.sender) revert NotOperator(msg.sender);
        c.endpoints = endpoints;
        c.updatedAt = uint64(block.timestamp);
        emit EndpointsChanged(key, chainId);
    }

    function approve(string calldata chainId) external onlyGovernor {
        _move(chainId, Status.Approved);
    }

    function suspend(string calldata chainId) external onlyGovernor {
        _move(chainId, Status.Suspended);
    }

    function freeze(string calldata chainId) external onlyGovernor {
        _move(chainId, Status.Frozen);
    }

    function retire(string calldata chainId) external onlyGovernor {
        _move(chainId, Status.Retired);
    }

    /// After a halt (suspended) or misbehaviour (frozen): back to Approved from a new trust root.
    function reanchor(string calldata chainId, bytes calldata newTrustRoot) external onlyGovernor {
        bytes32 key = keccak256(bytes(chainId));
        Chain storage c = chains[key];
        Status from = c.status;
        if (from == Status.None) revert UnknownChain(chainId);
        if (from != Status.Frozen && from != Status.Suspended) revert BadTransition(from, Status.Approved);
        c.trustRoot = newTrustRoot;
        c.status = Status.Approved;
        c.updatedAt = uint64(block.timestamp);
        emit TrustRootChanged(key, chainId, newTrustRoot);
        emit ChainStatusChanged(key, chainId, Status.Approved);
    }

    function get(string calldata chainId) external view returns (Chain memory) {
        Chain memory c = chains[keccak256(bytes(chainId))];
        if (c.status == Status.None) revert UnknownChain(chainId);
        return c;
    }

    function count() external view returns (uint256) {
        return keys.length;
    }

    function all() external view returns (Chain[] memory out) {
        out = new Chain[](keys.length);
        for (uint256 i = 0; i < keys.length; i++) out[i] = chains[keys[i]];
    }

    function _move(string calldata chainId, Status to) private {
        bytes32 key = keccak256(bytes(chainId));
        Chain storage c = chains[key];
        Status from = c.status;
        if (from == Status.None) revert UnknownChain(chainId);
        if (from == Status.Retired || from == to) revert BadTransition(from, to);
        // A frozen chain (misbehaviour) leaves freeze only by retirement or `reanchor` (a new trust root).
        if (from == Status.Frozen && to != Status.Retired) revert BadTransition(from, to);
        c.status = to;
        c.updatedAt = uint64(block.timestamp);
        emit ChainStatusChanged(key, chainId, to);
    }
}
