// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IQiaoReceiver} from "../IQiaoReceiver.sol";

interface IEscrowPort {
    function send(
        string calldata dstChain,
        bytes calldata dstPort,
        bytes calldata receiver,
        uint64 gasLimit,
        uint64 timeoutHeight,
        uint64 timeoutUnixSeconds,
        bytes calldata payload
    ) external returns (bytes32 id);
}

/// Holds the funds of settlement legs on a member chain.
///
/// Leg 0 is locked by the sender (`lock`); provider legs are locked from the provider's
/// pool on SettlementHub's RESERVE. Every lock is reported to SettlementHub on the governance
/// chain (LOCKED / LOCK_FAILED, as Qiao messages through this chain's port), and a lock
/// leaves only on SettlementHub's RELEASE (to `to`) or REFUND (back to the sender, or to the
/// provider's pool): the escrow never decides on its own. Each happens at most once.
contract QiaoEscrow is IQiaoReceiver {
    using SafeERC20 for IERC20;

    uint8 public constant KIND_LOCKED = 1;
    uint8 public constant KIND_LOCK_FAILED = 2;
    uint8 public constant KIND_RESERVE = 3;
    uint8 public constant KIND_RELEASE = 4;
    uint8 public constant KIND_REFUND = 5;

    uint8 public constant LOCK_NONE = 0;
    uint8 public constant LOCK_LOCKED = 1;
    uint8 public constant LOCK_RELEASED = 2;
    uint8 public constant LOCK_REFUNDED = 3;

    /// escrow -> hub messages: the commit that a LOCKED may trigger fans out one send per leg.
    uint64 public constant ESCROW_TO_HUB_GAS = 1_500_000;

    struct Lock {
        address token;
        uint256 amount;
        address from;
        address to;
        uint8 state;
        bool fromPool;
    }

    address public immutable port;
    string public govChain;
    bytes32 private immutable govChainHash;
    bytes public settlementHub;
    bytes public govPort;

    mapping(address => mapping(address => uint256)) private pools;
    mapping(bytes32 => Lock) private locks;

    event Deposited(address indexed provider, address indexed token, uint256 amount);
    event Withdrawn(address indexed provider, address indexed token, uint256 amount);
    event Locked(bytes16 indexed uetr, uint8 leg, address token, uint256 amount, address from, address to);
    event LockFailed(bytes16 indexed uetr, uint8 leg, string reason);
    event Released(bytes16 indexed uetr, uint8 leg, address to, uint256 amount);
    event Refunded(bytes16 indexed uetr, uint8 leg, address from, uint256 amount, bool toPool);

    error ZeroAddress();
    error ZeroAmount();
    error InsufficientPool(address provider, address token, uint256 pool, uint256 amount);
    error LockExists(bytes16 uetr, uint8 leg);
    error NotLocked(bytes16 uetr, uint8 leg, uint8 state);
    error NotPort(address caller);
    error NotSettlementHub(string srcChain, bytes sender);
    error BadKind(uint8 kind);

    constructor(address port_, string memory govChain_, bytes memory settlementHub_, bytes memory govPort_) {
        if (port_ == address(0) || bytes(govChain_).length == 0 || settlementHub_.length == 0 || govPort_.length == 0) revert ZeroAddress();
        port = port_;
        govChain = govChain_;
        govChainHash = keccak256(bytes(govChain_));
        settlementHub = settlementHub_;
        govPort = govPort_;
    }

    // ---------------------------------------------------------- liquidity pools

    function deposit(address token, uint256 amount) external {
        if (token == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        pools[msg.sender][token] += amount;
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        emit Deposited(msg.sender, token, amount);
    }

    function withdraw(address token, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 pool = pools[msg.sender][token];
        if (pool < amount) revert InsufficientPool(msg.sender, token, pool, amount);
        pools[msg.sender][token] = pool - amount;
        IERC20(token).safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, token, amount);
    }

    // -------------------------------------------------------------- sender lock

    /// The sender's leg 0: pulls `amount` from the caller and reports LOCKED to SettlementHub.
    function lock(bytes16 uetr, address token, uint256 amount, address to) external {
        if (token == address(0) || to == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        Lock storage l = locks[_key(uetr, 0)];
        if (l.state != LOCK_NONE) revert LockExists(uetr, 0);
        locks[_key(uetr, 0)] = Lock(token, amount, msg.sender, to, LOCK_LOCKED, false);
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        emit Locked(uetr, 0, token, amount, msg.sender, to);
        _toHub(KIND_LOCKED, uetr, 0, abi.encode(token, amount, msg.sender, to));
    }

    // ---------------------------------------------------------------- messages

    function qiaoReceive(bytes32, string calldata srcChain, bytes calldata sender, bytes calldata payload) external {
        if (msg.sender != port) revert NotPort(msg.sender);
        if (keccak256(bytes(srcChain)) != govChainHash || keccak256(sender) != keccak256(settlementHub)) revert NotSettlementHub(srcChain, sender);
        (uint8 kind, bytes16 uetr, uint8 leg, bytes memory body) = abi.decode(payload, (uint8, bytes16, uint8, bytes));
        if (kind == KIND_RESERVE) _reserve(uetr, leg, body);
        else if (kind == KIND_RELEASE) _release(uetr, leg);
        else if (kind == KIND_REFUND) _refund(uetr, leg);
        else revert BadKind(kind);
    }

    function _reserve(bytes16 uetr, uint8 leg, bytes memory body) private {
        (address token, uint256 amount, address from, address to) = abi.decode(body, (address, uint256, address, address));
        bytes32 k = _key(uetr, leg);
        if (locks[k].state != LOCK_NONE) revert LockExists(uetr, leg);
        uint256 pool = pools[from][token];
        if (amount == 0 || pool < amount) {
            emit LockFailed(uetr, leg, "insufficient liquidity");
            _toHub(KIND_LOCK_FAILED, uetr, leg, abi.encode("insufficient liquidity"));
            return;
        }
        pools[from][token] = pool - amount;
        locks[k] = Lock(token, amount, from, to, LOCK_LOCKED, true);
        emit Locked(uetr, leg, token, amount, from, to);
        _toHub(KIND_LOCKED, uetr, leg, abi.encode(token, amount, from, to));
    }

    function _release(bytes16 uetr, uint8 leg) private {
        Lock storage l = locks[_key(uetr, leg)];
        if (l.state != LOCK_LOCKED) revert NotLocked(uetr, leg, l.state);
        l.state = LOCK_RELEASED;
        IERC20(l.token).safeTransfer(l.to, l.amount);
        emit Released(uetr, leg, l.to, l.amount);
    }

    function _refund(bytes16 uetr, uint8 leg) private {
        Lock storage l = locks[_key(uetr, leg)];
        if (l.state != LOCK_LOCKED) revert NotLocked(uetr, leg, l.state);
        l.state = LOCK_REFUNDED;
        if (l.fromPool) pools[l.from][l.token] += l.amount;
        else IERC20(l.token).safeTransfer(l.from, l.amount);
        emit Refunded(uetr, leg, l.from, l.amount, l.fromPool);
    }

    function _toHub(uint8 kind, bytes16 uetr, uint8 leg, bytes memory body) private {
        // No timeout: the hub's answer must arrive eventually.
        IEscrowPort(port).send(govChain, govPort, settlementHub, ESCROW_TO_HUB_GAS, 0, 0, abi.encode(kind, uetr, leg, body));
    }

    function _key(bytes16 uetr, uint8 leg) private pure returns (bytes32) {
        return keccak256(abi.encode(uetr, leg));
    }

    // ------------------------------------------------------------------- views

    function lockOf(bytes16 uetr, uint8 leg) external view returns (address token, uint256 amount, address from, address to, uint8 state) {
        Lock storage l = locks[_key(uetr, leg)];
        return (l.token, l.amount, l.from, l.to, l.state);
    }

    function poolOf(address provider, address token) external view returns (uint256) {
        return pools[provider][token];
    }
}
