// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// The consortium's governance: member keys approve proposals (calls to any
/// contract, usually a registry whose `governor` is this council). A proposal
/// runs once `threshold` members approved and `delay` seconds passed since the
/// threshold was reached. The emergency path needs only `emergencyThreshold`
/// approvals and has no delay, but may only call the listed selectors (suspend,
/// freeze, pause). Membership, thresholds, delay and the emergency list change
/// only through a proposal that targets the council itself.
contract Council {
    enum State {
        None,
        Pending, // waiting for approvals
        Queued, // threshold reached, timelock running
        Ready, // executable now
        Executed,
        Canceled
    }

    struct Proposal {
        address target;
        address proposer;
        bool emergency;
        bool executed;
        bool canceled;
        uint64 createdAt;
        /// Time from which the proposal may run; 0 until the threshold is reached.
        uint64 eta;
        bytes data;
        string description;
    }

    address[] private members;
    mapping(address => bool) public isMember;
    uint8 public threshold;
    uint8 public emergencyThreshold;
    uint64 public delay;
    bytes4[] private emergencySelectorList;
    mapping(bytes4 => bool) public isEmergencySelector;

    /// Proposal ids start at 1.
    Proposal[] private proposals;
    mapping(uint256 => mapping(address => bool)) public hasApproved;

    event Proposed(uint256 indexed id, address indexed proposer, address indexed target, bool emergency, bytes data, string description);
    event Approved(uint256 indexed id, address indexed member, uint256 approvals);
    event Queued(uint256 indexed id, uint64 eta);
    event Executed(uint256 indexed id, address indexed target, bytes result);
    event Canceled(uint256 indexed id);
    event MemberAdded(address indexed member);
    event MemberRemoved(address indexed member);
    event ThresholdsChanged(uint8 threshold, uint8 emergencyThreshold);
    event DelayChanged(uint64 delay);
    event EmergencySelectorChanged(bytes4 indexed selector, bool allowed);

    error NotMember(address caller);
    error NotCouncil(address caller);
    error NotProposer(address caller);
    error UnknownProposal(uint256 id);
    error AlreadyApproved(uint256 id, address member);
    error NotExecutable(uint256 id, State state);
    error TimelockActive(uint256 id, uint64 eta);
    error ProposalClosed(uint256 id, State state);
    error NotEmergencySelector(bytes4 selector);
    error BadCall();
    error BadMembers();
    error BadThreshold(uint8 threshold, uint8 emergencyThreshold, uint256 members);
    error AlreadyMember(address member);

    modifier onlyMember() {
        if (!isMember[msg.sender]) revert NotMember(msg.sender);
        _;
    }

    /// Only a proposal executed by the council itself reaches these functions.
    modifier onlySelf() {
        if (msg.sender != address(this)) revert NotCouncil(msg.sender);
        _;
    }

    constructor(address[] memory members_, uint8 threshold_, uint8 emergencyThreshold_, uint64 delaySeconds, bytes4[] memory emergencySelectors) {
        if (members_.length == 0) revert BadMembers();
        for (uint256 i = 0; i < members_.length; i++) _addMember(members_[i]);
        _setThresholds(threshold_, emergencyThreshold_);
        delay = delaySeconds;
        emit DelayChanged(delaySeconds);
        for (uint256 i = 0; i < emergencySelectors.length; i++) _setEmergencySelector(emergencySelectors[i], true);
    }

    // ------------------------------------------------------------- proposals

    function propose(address target, bytes calldata data, string calldata description) external onlyMember returns (uint256 id) {
        return _propose(target, data, description, false);
    }

    /// An emergency proposal runs as soon as `emergencyThreshold` members approved (possibly in this call).
    function proposeEmergency(address target, bytes calldata data, string calldata description) external onlyMember returns (uint256 id) {
        if (data.length < 4) revert BadCall();
        bytes4 selector = bytes4(data[:4]);
        if (!isEmergencySelector[selector]) revert NotEmergencySelector(selector);
        return _propose(target, data, description, true);
    }

    function approve(uint256 id) external onlyMember {
        Proposal storage p = _open(id);
        if (hasApproved[id][msg.sender]) revert AlreadyApproved(id, msg.sender);
        _approve(id, p);
    }

    function execute(uint256 id) external onlyMember returns (bytes memory) {
        Proposal storage p = _proposal(id);
        State s = state(id);
        if (s == State.Queued) revert TimelockActive(id, p.eta);
        if (s != State.Ready) revert NotExecutable(id, s);
        return _execute(id, p);
    }

    function cancel(uint256 id) external {
        Proposal storage p = _open(id);
        if (p.proposer != msg.sender) revert NotProposer(msg.sender);
        p.canceled = true;
        emit Canceled(id);
    }

    // ------------------------------------------------- self-governed settings

    function addMember(address member) external onlySelf {
        _addMember(member);
    }

    function removeMember(address member) external onlySelf {
        if (!isMember[member]) revert NotMember(member);
        uint256 n = members.length;
        for (uint256 i = 0; i < n; i++) {
            if (members[i] == member) {
                members[i] = members[n - 1];
                members.pop();
                break;
            }
        }
        isMember[member] = false;
        // A council that could never reach its threshold again is refused.
        if (threshold > members.length || emergencyThreshold > members.length) revert BadThreshold(threshold, emergencyThreshold, members.length);
        emit MemberRemoved(member);
    }

    function setThresholds(uint8 threshold_, uint8 emergencyThreshold_) external onlySelf {
        _setThresholds(threshold_, emergencyThreshold_);
    }

    function setDelay(uint64 delaySeconds) external onlySelf {
        delay = delaySeconds;
        emit DelayChanged(delaySeconds);
    }

    function setEmergencySelector(bytes4 selector, bool allowed) external onlySelf {
        _setEmergencySelector(selector, allowed);
    }

    // ------------------------------------------------------------------ views

    function getMembers() external view returns (address[] memory) {
        return members;
    }

    function emergencySelectors() external view returns (bytes4[] memory) {
        return emergencySelectorList;
    }

    function proposalCount() external view returns (uint256) {
        return proposals.length;
    }

    function getProposal(uint256 id) external view returns (Proposal memory) {
        return _proposal(id);
    }

    /// Approvals by current members only: a removed member's approval no longer counts.
    function approvals(uint256 id) public view returns (uint256 n) {
        for (uint256 i = 0; i < members.length; i++) if (hasApproved[id][members[i]]) n++;
    }

    function state(uint256 id) public view returns (State) {
        if (id == 0 || id > proposals.length) return State.None;
        Proposal storage p = proposals[id - 1];
        if (p.executed) return State.Executed;
        if (p.canceled) return State.Canceled;
        if (p.eta == 0 || approvals(id) < _needed(p)) return State.Pending;
        if (block.timestamp < p.eta) return State.Queued;
        return State.Ready;
    }

    // -------------------------------------------------------------- internals

    function _propose(address target, bytes calldata data, string calldata description, bool emergency) private returns (uint256 id) {
        if (target == address(0)) revert BadCall();
        proposals.push();
        id = proposals.length;
        Proposal storage p = proposals[id - 1];
        p.target = target;
        p.proposer = msg.sender;
        p.emergency = emergency;
        p.createdAt = uint64(block.timestamp);
        p.data = data;
        p.description = description;
        emit Proposed(id, msg.sender, target, emergency, data, description);
        // The proposer's approval counts.
        _approve(id, p);
    }

    function _approve(uint256 id, Proposal storage p) private {
        hasApproved[id][msg.sender] = true;
        uint256 n = approvals(id);
        emit Approved(id, msg.sender, n);
        if (p.eta == 0 && n >= _needed(p)) {
            p.eta = uint64(block.timestamp) + (p.emergency ? 0 : delay);
            emit Queued(id, p.eta);
        }
        if (p.emergency && p.eta != 0 && n >= _needed(p)) _execute(id, p);
    }

    function _execute(uint256 id, Proposal storage p) private returns (bytes memory result) {
        // A selector taken off the emergency list no longer runs through an older emergency proposal.
        if (p.emergency) {
            bytes4 selector = bytes4(p.data);
            if (!isEmergencySelector[selector]) revert NotEmergencySelector(selector);
        }
        p.executed = true;
        bool ok;
        (ok, result) = p.target.call(p.data);
        if (!ok) {
            // The target's own error reaches the caller, and the proposal stays executable.
            assembly {
                revert(add(result, 32), mload(result))
            }
        }
        emit Executed(id, p.target, result);
    }

    function _needed(Proposal storage p) private view returns (uint256) {
        return p.emergency ? emergencyThreshold : threshold;
    }

    function _proposal(uint256 id) private view returns (Proposal storage) {
        if (id == 0 || id > proposals.length) revert UnknownProposal(id);
        return proposals[id - 1];
    }

    function _open(uint256 id) private view returns (Proposal storage p) {
        p = _proposal(id);
        if (p.executed || p.canceled) revert ProposalClosed(id, state(id));
    }

    function _addMember(address member) private {
        if (member == address(0)) revert BadMembers();
        if (isMember[member]) revert AlreadyMember(member);
        isMember[member] = true;
        members.push(member);
        emit MemberAdded(member);
    }

    function _setThresholds(uint8 threshold_, uint8 emergencyThreshold_) private {
        if (threshold_ == 0 || emergencyThreshold_ == 0 || threshold_ > members.length || emergencyThreshold_ > threshold_) {
            revert BadThreshold(threshold_, emergencyThreshold_, members.length);
        }
        threshold = threshold_;
        emergencyThreshold = emergencyThreshold_;
        emit ThresholdsChanged(threshold_, emergencyThreshold_);
    }

    function _setEmergencySelector(bytes4 selector, bool allowed) private {
        if (isEmergencySelector[selector] == allowed) return;
        isEmergencySelector[selector] = allowed;
        if (allowed) {
            emergencySelectorList.push(selector);
        } else {
            for (uint256 i = 0; i < emergencySelectorList.length; i++) {
                if (emergencySelectorList[i] == selector) {
                    emergencySelectorList[i] = emergencySelectorList[emergencySelectorList.length - 1];
                    emergencySelectorList.pop();
                    break;
                }
            }
        }
        emit EmergencySelectorChanged(selector, allowed);
    }
}
