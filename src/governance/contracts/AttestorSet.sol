// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Governed} from "./Governed.sol";

/// The k-of-n attestor keys that sign batch roots, numbered by set id.
contract AttestorSet is Governed {
    uint64 public setId;
    uint8 public threshold;
    address[] private members;

    event SetChanged(uint64 indexed setId, address[] members, uint8 threshold);

    error BadSet();

    constructor(address governor_, address[] memory members_, uint8 threshold_) Governed(governor_) {
        _set(members_, threshold_);
    }

    function rotate(address[] calldata members_, uint8 threshold_) external onlyGovernor {
        _set(members_, threshold_);
    }

    function current() external view returns (uint64, uint8, address[] memory) {
        return (setId, threshold, members);
    }

    function _set(address[] memory members_, uint8 threshold_) private {
        if (threshold_ == 0 || threshold_ > members_.length) revert BadSet();
        for (uint256 i = 0; i < members_.length; i++) {
            if (members_[i] == address(0)) revert BadSet();
            for (uint256 j = 0; j < i; j++) if (members_[j] == members_[i]) revert BadSet();
        }
        members = members_;
        threshold = threshold_;
        setId += 1;
        emit SetChanged(setId, members_, threshold_);
    }
}
