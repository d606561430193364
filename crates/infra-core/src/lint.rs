//! Lint warnings (`W4xxx`): wildcard IAM permissions, open trust policies, NoEcho defaults.
