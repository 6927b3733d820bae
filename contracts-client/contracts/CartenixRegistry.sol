// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title CartenixRegistry
/// @notice What each derivation built to, recorded only from executed vouchers of one Cartenix
/// application. A voucher runs only after its epoch's claim is accepted, so every entry here is
/// backed by a claim: any contract can ask "what did this derivation build to?".
contract CartenixRegistry {
    struct BuildOutput {
        string name;
        string path;
        bytes32 narHash;
        uint64 narSize;
    }

    /// @dev The version-1 layout of the Cartenix notice, which the callback keeps (dapp/protocol/buildResult.ts).
    struct BuildResult {
        uint8 version;
        bytes32 requestHash;
        uint64 inputIndex;
        string system;
        string drvPath;
        bool success;
        BuildOutput[] outputs;
    }

    struct Entry {
        bool exists;
        string system;
        bytes32 requestHash;
        uint64 inputIndex;
        BuildOutput[] outputs;
    }

    /// @notice The Cartenix application whose vouchers this registry accepts.
    address public immutable application;

    mapping(bytes32 drvPathHash => Entry) private entries;

    event Built(bytes32 indexed drvPathHash, string drvPath, string system, bytes32 requestHash, uint64 inputIndex);

    error NotTheApplication(address caller);
    error NotASuccessfulBuild(string drvPath);
    error UnknownDerivation(string drvPath);
    error UnknownOutput(string drvPath, string name);

    constructor(address cartenixApplication) {
        application = cartenixApplication;
    }

    /// @notice Called by the application when it executes a Cartenix voucher.
    function cartenixBuilt(BuildResult calldata result) external {
        if (msg.sender != application) revert NotTheApplication(msg.sender);
        if (!result.success) revert NotASuccessfulBuild(result.drvPath);
        bytes32 key = keccak256(bytes(result.drvPath));
        Entry storage entry = entries[key];
        delete entry.outputs;
        entry.exists = true;
        entry.system = result.system;
        entry.requestHash = result.requestHash;
        entry.inputIndex = result.inputIndex;
        for (uint256 i = 0; i < result.outputs.length; i++) {
            entry.outputs.push(result.outputs[i]);
        }
        emit Built(key, result.drvPath, result.system, result.requestHash, result.inputIndex);
    }

    function isBuilt(string calldata drvPath) external view returns (bool) {
        return entries[keccak256(bytes(drvPath))].exists;
    }

    /// @notice Every output of a derivation, with its NAR hash and size.
    function outputsOf(string calldata drvPath) external view returns (string memory system, BuildOutput[] memory outputs) {
        Entry storage entry = entries[keccak256(bytes(drvPath))];
        if (!entry.exists) revert UnknownDerivation(drvPath);
        return (entry.system, entry.outputs);
    }

    /// @notice The NAR hash of one output (`out`, `dev`, ...) of a derivation.
    function narHashOf(string calldata drvPath, string calldata outputName) external view returns (bytes32) {
        Entry storage entry = entries[keccak256(bytes(drvPath))];
        if (!entry.exists) revert UnknownDerivation(drvPath);
        bytes32 wanted = keccak256(bytes(outputName));
        for (uint256 i = 0; i < entry.outputs.length; i++) {
            if (keccak256(bytes(entry.outputs[i].name)) == wanted) return entry.outputs[i].narHash;
        }
        revert UnknownOutput(drvPath, outputName);
    }
}
