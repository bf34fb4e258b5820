// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Governed} from "./Governed.sol";

/// DIDs `did:qiao:<id>` with a controller, verification keys, service endpoints and the
/// hash of the off-chain DID document. Persons appear only through pairwise or
/// commitment-based ids: nothing here identifies anyone, an observer sees random ids,
/// controller addresses, public keys and endpoints.
contract IdentityRegistry is Governed {
    uint8 public constant KEY_SECP256K1 = 1;
    uint8 public constant KEY_ED25519 = 2;
    // Bounds keep every loop over keys and services cheap and every write predictable.
    uint256 public constant MAX_KEYS = 16;
    uint256 public constant MAX_SERVICES = 16;
    uint256 private constant MAX_ID = 64;
    uint256 private constant MAX_ENDPOINT = 256;

    struct Key {
        string id;
        uint8 keyType;
        bytes publicKey;
    }

    struct Service {
        string id;
        string serviceType;
        string endpoint;
    }

    struct Identity {
        string did;
        address controller;
        bytes32 documentHash;
        Key[] keys;
        Service[] services;
        bool active;
        uint64 createdAt;
        uint64 updatedAt;
        uint64 versionId;
    }

    mapping(bytes32 => Identity) private identities;
    bytes32[] private hashes;

    event IdentityCreated(bytes32 indexed didHash, string did, address indexed controller, bytes32 documentHash);
    event KeySet(bytes32 indexed didHash, string keyId, uint8 keyType, bytes publicKey, uint64 versionId);
    event KeyRemoved(bytes32 indexed didHash, string keyId, uint64 versionId);
    event ServicesSet(bytes32 indexed didHash, uint256 count, uint64 versionId);
    event DocumentHashSet(bytes32 indexed didHash, bytes32 documentHash, uint64 versionId);
    event ControllerChanged(bytes32 indexed didHash, address indexed previous, address indexed next, uint64 versionId);
    event IdentityDeactivated(bytes32 indexed didHash, uint64 versionId);

    error BadDid(string did);
    error DidTaken(string did);
    error UnknownDid(string did);
    error NotController(string did, address caller);
    error DidDeactivated(string did);
    error BadKeyId(string keyId);
    error BadKeyType(string keyId, uint8 keyType);
    error BadKeyLength(string keyId, uint8 keyType, uint256 length);
    error DuplicateKeyId(string keyId);
    error UnknownKey(string did, string keyId);
    error TooManyKeys(uint256 count, uint256 max);
    error BadService(string serviceId);
    error DuplicateServiceId(string serviceId);
    error TooManyServices(uint256 count, uint256 max);

    constructor(address governor_) Governed(governor_) {}

    function create(
        string calldata did,
        address controller,
        bytes32 documentHash,
        Key[] calldata keys,
        Service[] calldata services
    ) external {
        _checkDid(did);
        if (controller == address(0)) revert ZeroAddress();
        bytes32 h = keccak256(bytes(did));
        Identity storage r = identities[h];
        if (r.createdAt != 0) revert DidTaken(did);
        if (keys.length > MAX_KEYS) revert TooManyKeys(keys.length, MAX_KEYS);
        r.did = did;
        r.controller = controller;
        r.documentHash = documentHash;
        r.active = true;
        r.createdAt = uint64(block.timestamp);
        r.updatedAt = uint64(block.timestamp);
        r.versionId = 1;
        hashes.push(h);
        emit IdentityCreated(h, did, controller, documentHash);
        for (uint256 i = 0; i < keys.length; i++) {
            _checkKey(keys[i]);
            if (_keyIndex(r, keys[i].id) != type(uint256).max) revert DuplicateKeyId(keys[i].id);
            r.keys.push(keys[i]);
            emit KeySet(h, keys[i].id, keys[i].keyType, keys[i].publicKey, 1);
        }
        _writeServices(r, services);
        emit ServicesSet(h, services.length, 1);
    }

    /// Adds a key, or replaces the key with the same id (a rotation).
    function setKey(string calldata did, Key calldata key) external {
        (bytes32 h, Identity storage r) = _own(did);
        _checkKey(key);
        uint256 i = _keyIndex(r, key.id);
        if (i == type(uint256).max) {
            if (r.keys.length >= MAX_KEYS) revert TooManyKeys(r.keys.length + 1, MAX_KEYS);
            r.keys.push(key);
        } else {
            r.keys[i].keyType = key.keyType;
            r.keys[i].publicKey = key.publicKey;
        }
        emit KeySet(h, key.id, key.keyType, key.publicKey, _touch(r));
    }

    function removeKey(string calldata did, string calldata keyId) external {
        (bytes32 h, Identity storage r) = _own(did);
        uint256 i = _keyIndex(r, keyId);
        if (i == type(uint256).max) revert UnknownKey(did, keyId);
        uint256 last = r.keys.length - 1;
        if (i != last) r.keys[i] = r.keys[last];
        r.keys.pop();
        emit KeyRemoved(h, keyId, _touch(r));
    }

    function setServices(string calldata did, Service[] calldata services) external {
        (bytes32 h, Identity storage r) = _own(did);
        _writeServices(r, services);
        emit ServicesSet(h, services.length, _touch(r));
    }

    function setDocumentHash(string calldata did, bytes32 documentHash) external {
        (bytes32 h, Identity storage r) = _own(did);
        r.documentHash = documentHash;
        emit DocumentHashSet(h, documentHash, _touch(r));
    }

    function changeController(string calldata did, address next) external {
        if (next == address(0)) revert ZeroAddress();
        (bytes32 h, Identity storage r) = _own(did);
        address previous = r.controller;
        r.controller = next;
        emit ControllerChanged(h, previous, next, _touch(r));
    }

    /// Final: a deactivated DID keeps its record (history stays resolvable) but never changes again.
    function deactivate(string calldata did) external {
        (bytes32 h, Identity storage r) = _own(did);
        r.active = false;
        emit IdentityDeactivated(h, _touch(r));
    }

    // ------------------------------------------------------------------ views

    /// An unknown DID resolves to an empty record (createdAt 0).
    function resolve(string calldata did) external view returns (Identity memory) {
        return identities[keccak256(bytes(did))];
    }

    function resolveHash(bytes32 didHash) external view returns (Identity memory) {
        return identities[didHash];
    }

    function didOf(bytes32 didHash) external view returns (string memory) {
        return identities[didHash].did;
    }

    function isActive(bytes32 didHash) external view returns (bool) {
        return identities[didHash].active;
    }

    function controllerOf(bytes32 didHash) external view returns (address) {
        return identities[didHash].controller;
    }

    function count() external view returns (uint256) {
        return hashes.length;
    }

    function didAt(uint256 i) external view returns (string memory) {
        return identities[hashes[i]].did;
    }

    // --------------------------------------------------------------- internal

    function _own(string calldata did) private view returns (bytes32 h, Identity storage r) {
        h = keccak256(bytes(did));
        r = identities[h];
        if (r.createdAt == 0) revert UnknownDid(did);
        if (r.controller != msg.sender) revert NotController(did, msg.sender);
        if (!r.active) revert DidDeactivated(did);
    }

    function _touch(Identity storage r) private returns (uint64 v) {
        r.updatedAt = uint64(block.timestamp);
        v = r.versionId + 1;
        r.versionId = v;
    }

    function _writeServices(Identity storage r, Service[] calldata services) private {
        if (services.length > MAX_SERVICES) revert TooManyServices(services.length, MAX_SERVICES);
        delete r.services;
        for (uint256 i = 0; i < services.length; i++) {
            Service calldata s = services[i];
            if (!_isId(bytes(s.id)) || bytes(s.serviceType).length == 0 || bytes(s.serviceType).length > MAX_ID) revert BadService(s.id);
            if (bytes(s.endpoint).length == 0 || bytes(s.endpoint).length > MAX_ENDPOINT) revert BadService(s.id);
            for (uint256 j = 0; j < i; j++) {
                if (keccak256(bytes(services[j].id)) == keccak256(bytes(s.id))) revert DuplicateServiceId(s.id);
            }
            r.services.push(s);
        }
    }

    function _keyIndex(Identity storage r, string calldata keyId) private view returns (uint256) {
        bytes32 k = keccak256(bytes(keyId));
        for (uint256 i = 0; i < r.keys.length; i++) {
            if (keccak256(bytes(r.keys[i].id)) == k) return i;
        }
        return type(uint256).max;
    }

    function _checkKey(Key calldata key) private pure {
        if (!_isId(bytes(key.id))) revert BadKeyId(key.id);
        uint256 n = key.publicKey.length;
        if (key.keyType == KEY_SECP256K1) {
            // Compressed points only: 0x02/0x03 prefix, 32-byte x.
            if (n != 33 || (key.publicKey[0] != 0x02 && key.publicKey[0] != 0x03)) revert BadKeyLength(key.id, key.keyType, n);
        } else if (key.keyType == KEY_ED25519) {
            if (n != 32) revert BadKeyLength(key.id, key.keyType, n);
        } else {
            revert BadKeyType(key.id, key.keyType);
        }
    }

    function _checkDid(string calldata did) private pure {
        bytes calldata b = bytes(did);
        bytes9 prefix = "did:qiao:";
        if (b.length < 10 || b.length > 9 + MAX_ID || bytes9(b[0:9]) != prefix || !_isId(b[9:])) revert BadDid(did);
    }

    /// [a-zA-Z0-9._-]{1,64}: the DID id alphabet, reused for key and service ids.
    function _isId(bytes calldata b) private pure returns (bool) {
        if (b.length == 0 || b.length > MAX_ID) return false;
        for (uint256 i = 0; i < b.length; i++) {
            bytes1 c = b[i];
            bool ok = (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "." || c == "_" || c == "-";
            if (!ok) return false;
        }
        return true;
    }
}
