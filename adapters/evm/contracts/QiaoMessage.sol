// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// The frozen message format of DESIGN.md:
/// abi.encode(uint8 version, string srcChain, bytes srcPort, bytes sender, string dstChain,
///            bytes dstPort, bytes receiver, uint64 nonce, uint64 gasLimit,
///            uint64 timeoutHeight, uint64 timeoutUnixSeconds, bytes payload)
/// id = keccak256(encoding).
library QiaoMessage {
    struct Message {
        uint8 version;
        string srcChain;
        bytes srcPort;
        bytes sender;
        string dstChain;
        bytes dstPort;
        bytes receiver;
        uint64 nonce;
        uint64 gasLimit;
        uint64 timeoutHeight;
        uint64 timeoutUnixSeconds;
        bytes payload;
    }

    function encode(Message memory m) internal pure returns (bytes memory) {
        // Encoding the struct as one tuple adds a leading offset word; the frozen
        // format is the flat parameter list, so strip that word.
        bytes memory t = abi.encode(m);
        bytes memory out = new bytes(t.length - 32);
        assembly {
            mcopy(add(out, 32), add(t, 64), sub(mload(t), 32))
        }
        return out;
    }

    function id(bytes memory encoded) internal pure returns (bytes32) {
        return keccak256(encoded);
    }

    /// Decodes the flat encoding by reading it as a single dynamic tuple behind an offset word.
    function decode(bytes calldata encoded) internal pure returns (Message memory m) {
        m = abi.decode(bytes.concat(bytes32(uint256(32)), encoded), (Message));
    }

    /// The leaf of a batch tree: OpenZeppelin StandardMerkleTree over [bytes32 id].
    function leaf(bytes32 messageId) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(messageId))));
    }
}
