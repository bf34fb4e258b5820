// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// Every registry takes a `governor` so real governance (a council contract) can be
/// set in later without a redeploy.
abstract contract Governed {
    address public governor;

    event GovernorChanged(address indexed previous, address indexed next);

    error NotGovernor(address caller);
    error ZeroAddress();

    modifier onlyGovernor() {
        if (msg.sender != governor) revert NotGovernor(msg.sender);
        _;
    }

    constructor(address governor_) {
        if (governor_ == address(0)) revert ZeroAddress();
        governor = governor_;
        emit GovernorChanged(address(0), governor_);
    }

    function setGovernor(address next) external onlyGovernor {
        if (next == address(0)) revert ZeroAddress();
        emit GovernorChanged(governor, next);
        governor = next;
    }
}
